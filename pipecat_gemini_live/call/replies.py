"""Server events -> Pipecat frames: the I/O half of :mod:`.responses`.

Frame conventions follow Pipecat's own Gemini Live service, so aggregators, RTVI and the
output transport see what they expect: a reply is ``TTSStartedFrame`` +
``LLMFullResponseStartFrame``, then ``TTSAudioRawFrame`` chunks with ``TTSTextFrame`` (and an
``LLMTextFrame`` that is not appended to context) for the output transcription, then
``TTSStoppedFrame`` + ``LLMFullResponseEndFrame``. A barge-in (``interrupted``) broadcasts an
interruption instead of the end frame. The caller's transcript goes upstream as a
``TranscriptionFrame`` when their turn is over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
from .playout_cushion import PlayoutCushion

if TYPE_CHECKING:
    from ..service import GeminiLiveLLMService


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
    """

    index: int
    session_index: int | None
    system_instruction: str | None
    started_at: float
    caller_text: str = ""
    pieces: list[str] = field(default_factory=list)
    ended_at: float | None = None
    interrupted: bool = False

    @property
    def text(self) -> str:
        """The reply as transcribed so far."""
        return "".join(self.pieces).strip()


class ServerEvents:
    """Applies translated server events to the pipeline, for the session the call is on."""

    def __init__(self, service: "GeminiLiveLLMService"):
        self.svc = service
        self.translator = r.ResponseTranslator()
        self.replies: list[ReplyRecord] = []
        self._caller_text = ""
        self._suppressed: object | None = None
        cushion_ms = service.options.output_cushion_ms or 0
        self.cushion: PlayoutCushion[TTSAudioRawFrame] | None = (
            PlayoutCushion(max_s=cushion_ms / 1000.0) if cushion_ms > 0 else None
        )

    async def handle(self, message, session: object | None = None) -> None:
        """Translate one server message from ``session`` and act on each event."""
        if self._suppressed is not None and session is self._suppressed:
            message = self._suppress(message)
        for event in self.translator.translate(message):
            await self.apply(event)

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
        return was

    async def on_pipeline_interruption(self) -> None:
        """An interruption came through the pipeline (local VAD, an app): close the reply."""
        if self.translator.responding:
            await self.cut()

    async def _flush_cushion(self) -> None:
        if self.cushion is not None:
            for ready in self.cushion.flush(time.monotonic()):
                await self.svc.push_frame(ready)

    async def apply(self, event: r.Event) -> None:
        """Push the frames (or make the calls) one event means."""
        svc = self.svc
        if isinstance(event, r.BotAudio):
            svc.audio_out_frames += 1
            frame = TTSAudioRawFrame(audio=event.audio, sample_rate=event.sample_rate, num_channels=1)
            if self.cushion is None:
                await svc.push_frame(frame)
            else:
                duration = len(event.audio) / 2 / event.sample_rate
                for ready in self.cushion.feed(frame, duration, time.monotonic()):
                    await svc.push_frame(ready)
        elif isinstance(event, r.GenerationDone):
            await self._flush_cushion()
        elif isinstance(event, r.BotTranscript):
            svc.history.model_piece(event.text)
            if self.replies:
                self.replies[-1].pieces.append(event.text)
            text_frame = LLMTextFrame(event.text)
            text_frame.append_to_context = False
            await svc.push_frame(text_frame)
            tts_text = TTSTextFrame(event.text, text_type=TextType.SENTENCE)
            tts_text.includes_inter_frame_spaces = True
            await svc.push_frame(tts_text)
        elif isinstance(event, r.BotStarted):
            session = svc.session
            self.replies.append(
                ReplyRecord(
                    index=len(self.replies),
                    session_index=session.index if session else None,
                    system_instruction=session.system_instruction if session else None,
                    started_at=time.monotonic(),
                    caller_text=self._caller_text,
                )
            )
            self._caller_text = ""
            if self.cushion is not None:
                self.cushion.start_reply(time.monotonic())
            await svc.on_bot_started()
            await svc.push_frame(TTSStartedFrame())
            await svc.push_frame(LLMFullResponseStartFrame())
        elif isinstance(event, r.BotText):
            if event.thought:
                await svc.push_frame(LLMThoughtStartFrame())
                await svc.push_frame(LLMThoughtTextFrame(event.text))
                await svc.push_frame(LLMThoughtEndFrame())
            else:
                svc.history.model_piece(event.text)
                await svc.push_frame(LLMTextFrame(event.text))
        elif isinstance(event, r.CallerTranscript):
            svc.history.add_user(event.text)
            svc.changes.tracker.pushed_transcript(event.text)
            self._caller_text = event.text
            await svc.push_frame(
                TranscriptionFrame(text=event.text, user_id="", timestamp=time_now_iso8601()),
                FrameDirection.UPSTREAM,
            )
        elif isinstance(event, r.Interrupted):
            if event.was_responding:
                logger.debug(f"{svc}: caller barged in")
                await svc.broadcast_interruption()
            await svc.turns.caller_started()
        elif isinstance(event, r.BotStopped):
            if event.interrupted and self.cushion is not None:
                self.cushion.drop()
            else:
                await self._flush_cushion()
            svc.history.end_model_turn()
            await svc.push_frame(TTSStoppedFrame())
            if not event.interrupted:
                await svc.push_frame(LLMFullResponseEndFrame())
            if self.replies and self.replies[-1].ended_at is None:
                reply = self.replies[-1]
                reply.ended_at = time.monotonic()
                reply.interrupted = event.interrupted
                svc.changes.tracker.spoke(reply.text)
                await svc.on_bot_stopped(reply)
        elif isinstance(event, r.Usage):
            await svc.start_llm_usage_metrics(token_usage(event.metadata))
        elif isinstance(event, r.ToolCalls):
            await svc.on_tool_calls(event.calls)
        elif isinstance(event, r.ToolCallCancellation):
            await svc.on_tool_call_cancellation(event.ids)
        elif isinstance(event, r.GoAway):
            await svc.on_go_away(event.time_left_s)
        elif isinstance(event, r.CallerSpeaking):
            await svc.on_caller_speaking()
        elif isinstance(event, r.TurnComplete):
            svc.guard.reply_settled()
