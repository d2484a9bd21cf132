"""Server events -> Pipecat frames: the I/O half of :mod:`..protocol.inbound`.

Frame conventions follow Pipecat's own Gemini Live service, so aggregators, RTVI and the
output transport see what they expect: a reply is ``TTSStartedFrame`` +
``LLMFullResponseStartFrame``, then ``TTSAudioRawFrame`` chunks with ``TTSTextFrame`` (and an
``LLMTextFrame`` that is not appended to context) for the output transcription, then
``TTSStoppedFrame`` + ``LLMFullResponseEndFrame``. A barge-in (``interrupted``) broadcasts an
interruption instead of the end frame. The caller's transcript goes upstream as a
``TranscriptionFrame`` when their turn is over.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from pipecat.frames.frames import (
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    LLMThoughtEndFrame,
    LLMThoughtStartFrame,
    LLMThoughtTextFrame,
    TextType,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.metrics.metrics import LLMTokenUsage
from pipecat.processors.frame_processor import FrameDirection
from pipecat.utils.time import time_now_iso8601

from ..protocol import inbound as r
from ..protocol.history import ConversationHistory
from .link import CallHooks, SessionLink
from .playout_cushion import PlayoutCushion

# A reply a switch cuts with less than this much of its audio played has not answered the
# caller (a word or two): the speech it was counted as answering goes to the new session, s.
UNHEARD_REPLY_S = 1.0


def _modality_tokens(details, modality: str) -> int | None:
    for d in details or []:
        if str(getattr(d.modality, "value", d.modality)).upper() == modality:
            return d.token_count
    return None


def token_usage(usage) -> LLMTokenUsage:
    """Pipecat token usage from a ``UsageMetadata`` (tool-use prompt and thinking included)."""
    prompt = (usage.prompt_token_count or 0) + (usage.tool_use_prompt_token_count or 0)
    completion = (usage.response_token_count or 0) + (usage.thoughts_token_count or 0)
    return LLMTokenUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cache_read_input_tokens=usage.cached_content_token_count,
        reasoning_tokens=usage.thoughts_token_count,
        input_audio_tokens=_modality_tokens(usage.prompt_tokens_details, "AUDIO"),
        output_audio_tokens=_modality_tokens(usage.response_tokens_details, "AUDIO"),
    )


@dataclass
class ReplyRecord:
    """One bot reply, for reports and ``on_reply_finished`` handlers.

    Attributes:
        index: Order in the call (0 = first reply).
        session_index: The session that produced it.
        system_instruction: The instruction that answered.
        started_at: ``time.monotonic()`` of its first output.
        ended_at: ``time.monotonic()`` when it completed or was cut.
        text: Its output transcription.
        caller_text: The caller's transcript it answers.
        interrupted: Cut by a barge-in or a switch.
        goes_on: The service asked for it, to go on with a reply a closing connection cut (the
            new session's seed ended with the history's continue marker), and no caller speech
            was owed an answer when it began: it answers no caller turn of its own.
    """

    index: int
    session_index: int | None
    system_instruction: str | None
    started_at: float
    caller_text: str = ""
    pieces: list[str] = field(default_factory=list)
    ended_at: float | None = None
    interrupted: bool = False
    goes_on: bool = False

    @property
    def text(self) -> str:
        """The reply as transcribed so far."""
        return "".join(self.pieces).strip()


@dataclass
class ReplyListener:
    """Who hears what a server message means beyond the frames pushed for it.

    Attributes:
        bot_started: A reply's first output (the caller's turn is over; time to first byte).
        bot_stopped: A reply ended, completed or cut.
        caller_speaking: The server heard the caller (a new turn's transcription, a barge-in).
        caller_transcript: The caller's transcript was pushed upstream (the aggregator will
            write it into the context).
        reply_spoken: A reply's transcript, once it is over (likewise).
        tool_calls: ``toolCall``'s function calls.
        tool_cancellation: ``toolCallCancellation``'s ids.
        go_away: ``goAway``, with the time left, seconds.
        turn_complete: ``turnComplete``: nothing is owed.
        usage: Token usage for Pipecat's metrics.
        speech_owed: Whether caller speech sent to the session is still owed an answer.
    """

    bot_started: Callable[[], Awaitable[None]]
    bot_stopped: Callable[[ReplyRecord], Awaitable[None]]
    caller_speaking: Callable[[], Awaitable[None]]
    caller_transcript: Callable[[str], None]
    reply_spoken: Callable[[str], None]
    tool_calls: Callable[[list[Any]], Awaitable[None]]
    tool_cancellation: Callable[[list[str]], Awaitable[None]]
    go_away: Callable[[float], Awaitable[None]]
    turn_complete: Callable[[], None]
    usage: Callable[[LLMTokenUsage], Awaitable[None]]
    speech_owed: Callable[[], bool] = lambda: False


class ServerEvents:
    """Applies translated server events to the pipeline, for the session the call is on.

    Args:
        link: The seam to the session (whose replies are recorded).
        hooks: Frame pushing of the hosting processor.
        history: The call's conversation record.
        listener: Who hears the events that are more than frames.
        cushion_ms: Reply audio playout cushion, ms (0: none).
    """

    def __init__(
        self,
        link: SessionLink,
        hooks: CallHooks,
        history: ConversationHistory,
        listener: ReplyListener,
        cushion_ms: float = 0,
    ):
        self.link = link
        self.hooks = hooks
        self.history = history
        self.listener = listener
        self.translator = r.ResponseTranslator()
        self.replies: list[ReplyRecord] = []
        self.audio_out_frames = 0
        self._reply_audio_s = 0.0  # seconds of the reply in progress's audio that have arrived
        self._caller_text = ""
        self._going_on_session: int | None = None
        self._suppressed: object | None = None
        self._reply_over = asyncio.Event()
        self._reply_over.set()
        self.cushion: PlayoutCushion[TTSAudioRawFrame] | None = (
            PlayoutCushion(max_s=cushion_ms / 1000.0) if cushion_ms > 0 else None
        )

    def expect_going_on(self, session_index: int | None) -> None:
        """The next reply of that session goes on with a cut one (see ``ReplyRecord.goes_on``);
        None: no reply is expected to."""
        self._going_on_session = session_index

    @property
    def responding(self) -> bool:
        """Whether a reply is being played."""
        return self.translator.responding

    async def wait_reply_over(self, timeout: float) -> bool:
        """Wait until no reply is being played, at most ``timeout`` seconds; returns whether
        none is."""
        if not self.responding:
            return True
        self._reply_over.clear()
        try:
            await asyncio.wait_for(self._reply_over.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        return not self.responding

    @property
    def reply_unheard(self) -> bool:
        """Whether a reply is in progress and less than :data:`UNHEARD_REPLY_S` of its audio
        has arrived (pushed into the pipeline, or into the playout cushion ahead of it; its
        transcript may be further along: native-audio models often send it first). Cut there,
        it has not answered the caller: a word or two at most."""
        return self.responding and self._reply_audio_s < UNHEARD_REPLY_S

    async def cut_for_switch(self) -> bool:
        """A switch cuts the reply in progress: end it locally (an interruption goes through
        the pipeline) and drop what the session still sends of it. Returns whether the reply
        cut was unheard (:attr:`reply_unheard`)."""
        if not self.responding:
            return False
        unheard = self.reply_unheard
        if await self.cut():
            await self.hooks.broadcast_interruption()
        if self.link.session is not None:
            self.suppress_reply_of(self.link.session)
        return unheard

    async def handle(self, message, session: object | None = None) -> None:
        """Translate one server message from ``session`` and act on each event."""
        if self._suppressed is not None and session is self._suppressed:
            message = self._suppress(message)
        for event in self.translator.translate(message):
            await self.apply(event)
        self._note_reply_state()

    def _note_reply_state(self) -> None:
        if not self.translator.responding:
            self._reply_over.set()

    def suppress_reply_of(self, session: object) -> None:
        """Drop the rest of the reply ``session`` is generating (a switch cut it).

        Only that session's reply is dropped: a session that takes over answers in full, and
        the suppression ends with the cut reply's ``turnComplete`` (or ``interrupted``).
        """
        self._suppressed = session

    def _suppress(self, message):
        sc = message.server_content
        if sc is None:
            return message
        if sc.turn_complete or sc.interrupted:
            self._suppressed = None
        # Only the reply's content goes; tool calls, goAway, usage and handles still count.
        trimmed = message.model_copy()
        trimmed.server_content = None
        return trimmed

    async def cut(self) -> bool:
        """End the reply in progress locally (a switch cut it). Returns whether one was.

        A cut reply stays in the history as far as it was transcribed.
        """
        was = self.translator.responding
        if self.cushion is not None:
            self.cushion.drop()
        for event in self.translator.reset():
            await self.apply(event)
        self._note_reply_state()
        return was

    async def on_pipeline_interruption(self) -> None:
        """An interruption came through the pipeline (local VAD, an app): close the reply."""
        if self.translator.responding:
            await self.cut()

    async def _flush_cushion(self) -> None:
        if self.cushion is not None:
            for ready in self.cushion.flush(time.monotonic()):
                await self.hooks.push_frame(ready)

    async def apply(self, event: r.Event) -> None:
        """Push the frames (or make the calls) one event means."""
        push = self.hooks.push_frame
        listener = self.listener
        if isinstance(event, r.BotAudio):
            self.audio_out_frames += 1
            self._reply_audio_s += len(event.audio) / 2 / event.sample_rate
            frame = TTSAudioRawFrame(audio=event.audio, sample_rate=event.sample_rate, num_channels=1)
            if self.cushion is None:
                await push(frame)
            else:
                duration = len(event.audio) / 2 / event.sample_rate
                for ready in self.cushion.feed(frame, duration, time.monotonic()):
                    await push(ready)
        elif isinstance(event, r.GenerationDone):
            await self._flush_cushion()
        elif isinstance(event, r.BotTranscript):
            self.history.model_piece(event.text)
            if self.replies:
                self.replies[-1].pieces.append(event.text)
            text_frame = LLMTextFrame(event.text)
            text_frame.append_to_context = False
            await push(text_frame)
            tts_text = TTSTextFrame(event.text, text_type=TextType.SENTENCE)
            tts_text.includes_inter_frame_spaces = True
            await push(tts_text)
        elif isinstance(event, r.BotStarted):
            session = self.link.session
            goes_on = session is not None and session.index == self._going_on_session
            if goes_on:
                self._going_on_session = None
                # Caller speech the session got before this reply began is answered with the
                # cue (make explore seed 10116: replayed speech and the cue, one reply).
                goes_on = not listener.speech_owed()
            self.replies.append(
                ReplyRecord(
                    index=len(self.replies),
                    session_index=session.index if session else None,
                    system_instruction=session.system_instruction if session else None,
                    started_at=time.monotonic(),
                    caller_text=self._caller_text,
                    goes_on=goes_on,
                )
            )
            self._caller_text = ""
            self._reply_audio_s = 0.0
            if self.cushion is not None:
                self.cushion.start_reply(time.monotonic())
            await listener.bot_started()
            await push(TTSStartedFrame())
            await push(LLMFullResponseStartFrame())
        elif isinstance(event, r.BotText):
            if event.thought:
                await push(LLMThoughtStartFrame())
                await push(LLMThoughtTextFrame(event.text))
                await push(LLMThoughtEndFrame())
            else:
                self.history.model_piece(event.text)
                await push(LLMTextFrame(event.text))
        elif isinstance(event, r.CallerTranscript):
            self.history.add_user(event.text)
            listener.caller_transcript(event.text)
            self._caller_text = event.text
            await push(
                TranscriptionFrame(text=event.text, user_id="", timestamp=time_now_iso8601()),
                FrameDirection.UPSTREAM,
            )
        elif isinstance(event, r.Interrupted):
            if event.was_responding:
                logger.debug(f"{self.link.session}: caller barged in")
                await self.hooks.broadcast_interruption()
            await listener.caller_speaking()
        elif isinstance(event, r.BotStopped):
            if event.interrupted and self.cushion is not None:
                self.cushion.drop()
            else:
                await self._flush_cushion()
            self.history.end_model_turn()
            await push(TTSStoppedFrame())
            if not event.interrupted:
                await push(LLMFullResponseEndFrame())
            if self.replies and self.replies[-1].ended_at is None:
                reply = self.replies[-1]
                reply.ended_at = time.monotonic()
                reply.interrupted = event.interrupted
                listener.reply_spoken(reply.text)
                await listener.bot_stopped(reply)
        elif isinstance(event, r.Usage):
            await listener.usage(token_usage(event.metadata))
        elif isinstance(event, r.ToolCalls):
            await listener.tool_calls(event.calls)
        elif isinstance(event, r.ToolCallCancellation):
            await listener.tool_cancellation(event.ids)
        elif isinstance(event, r.GoAway):
            await listener.go_away(event.time_left_s)
        elif isinstance(event, r.CallerSpeaking):
            await listener.caller_speaking()
        elif isinstance(event, r.TurnComplete):
            listener.turn_complete()
