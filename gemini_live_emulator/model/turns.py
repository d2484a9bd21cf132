"""The emulated model's turn-taking: caller turns, replies, barge-in, tool calls.

Everything here is driven by events the session feeds in (speech started / stopped, text,
images, tool responses); what the model says comes from :mod:`.conversation`, how it is
streamed from :mod:`.reply`, and scripted tool calls from :mod:`..scenario` / :mod:`.tool_desk`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import TYPE_CHECKING

from websockets.exceptions import ConnectionClosed

from .. import server_messages
from ..records import Reply
from ..scenario import ToolStep
from .conversation import AUDIO_TOKENS_PER_S, LATE_WORDS_TIMEOUT_S, TRANSCRIPT_OPENING, HistoryTurn, UserTurn
from .interpreting import interpret
from .reply import ReplyStream
from .tool_choice import choose
from .tool_desk import ToolDesk, summarise
from .voice import synthesize

if TYPE_CHECKING:
    from .ports import SessionPort


class TurnTaker:
    """Turn-taking for one session.

    Args:
        session: The connection it speaks on (``send``, config, records, conversation).
    """

    def __init__(self, session: SessionPort):
        self.s = session
        self.current = UserTurn()
        self.speech_started_at: float | None = None
        self.desk = ToolDesk(session.id)
        self._pending: deque[UserTurn] = deque()
        self._worker: asyncio.Task | None = None
        self._turn: UserTurn | None = None
        self._reply: ReplyStream | None = None
        self._composed = False
        self._waiting_tools = False
        self._interim_sends: list[asyncio.Task] = []
        self._late_sends: set[asyncio.Task] = set()

    @property
    def busy(self) -> bool:
        """A reply (or a wait for tool results) is in progress or queued."""
        return self._worker is not None and not self._worker.done()

    # -- caller events -----------------------------------------------------------------------

    async def caller_started(self, at_s: float) -> None:
        """Caller speech began (VAD or ``activityStart``)."""
        self.speech_started_at = at_s
        await self.s.fault_phase("speaking")
        recognising = self.s.recognising
        if self.s.setup.input_transcription and not recognising and not self.current.transcript_opened:
            self.current.transcript_opened = True
            await self.s.send(server_messages.input_transcription(TRANSCRIPT_OPENING))
        if self._waiting_tools and self.s.behaviour.cancel_tool_calls_on_barge_in:
            ids = self.desk.cancel_blocking()
            if ids:
                self.s.record.extra.setdefault("cancelled_tool_calls", []).extend(ids)
                await self.s.send(server_messages.tool_call_cancellation(ids))
            return
        if not self.busy or self._waiting_tools:
            return
        if (self.s.setup.vad.activity_handling or "").upper() == "NO_INTERRUPTION":
            return
        await self.barge_in()

    async def caller_stopped(self, at_s: float, speech_s: float | None = None, heard=None) -> None:
        """Caller speech ended; the turn is over.

        Args:
            at_s: Audio time the speech ended, seconds.
            speech_s: Length of the speech when known otherwise (manual activity), seconds.
            heard: The recogniser's pending result for the utterance (None: recognition off).
        """
        if heard is not None:
            self.current.hearing.append(heard)
        if speech_s is not None:
            self.current.speech_s += speech_s
        elif self.speech_started_at is not None:
            self.current.speech_s += max(0.0, at_s - self.speech_started_at)
        self.speech_started_at = None
        self.end_turn()

    def interim(self, text: str) -> None:
        """Words the recogniser is sure of while the caller still speaks (event loop callback)."""
        if self.s.setup is None or not self.s.setup.input_transcription:
            return
        self._interim_sends = [t for t in self._interim_sends if not t.done()]
        self._interim_sends.append(asyncio.create_task(self._send_quietly(server_messages.input_transcription(text))))

    async def _send_quietly(self, msg: dict) -> None:
        with contextlib.suppress(Exception):
            await self.s.send(msg)

    def end_turn(self) -> None:
        """Close the caller's turn and queue the reply to it."""
        turn, self.current = self.current, UserTurn()
        turn.images.extend(self.s.take_images())
        self._queue(turn)

    def _queue(self, turn: UserTurn) -> None:
        """Answer ``turn`` after whatever reply is already queued (one at a time, in order)."""
        self._pending.append(turn)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())

    async def _work(self) -> None:
        while self._pending:
            turn = self._pending.popleft()
            self._turn = turn
            try:
                await self._respond(turn)
            except ConnectionClosed:
                # The client closed (or the session ended) mid-reply: nothing is left to answer.
                self._pending.clear()
                return
            finally:
                self._turn, self._reply, self._composed = None, None, False

    async def text(self, text: str) -> None:
        """``realtimeInput.text``: part of the spoken turn, or a turn of its own."""
        if not text.strip():
            return  # a nudge, not a turn
        self.current.texts.append(text)
        if self.speech_started_at is not None:
            return
        await self.barge_in()
        self.end_turn()

    # -- replies -----------------------------------------------------------------------------

    async def _respond(self, turn: UserTurn) -> None:
        conv = self.s.conv
        loop = asyncio.get_running_loop()
        started = loop.time()
        if self.s.scenario.steps:
            # Scripted calls need no words: a recogniser behind (a loaded machine) must not
            # push the call past the think time, where the caller may already speak again.
            await turn.listen(timeout_s=max(self.s.scaled(self.s.cfg.think_ms / 1000.0), 0.05))
        else:
            # Scaled like every emulator duration: a time-scaled call (the explorer's, at 4x)
            # would otherwise see a model that takes 4 s to answer while the recogniser works.
            await turn.listen(timeout_s=self.s.scaled(self.s.cfg.listen_timeout_s))
        # The think time runs from the end of the turn: recognition that finished within it
        # adds no latency.
        listened_s = loop.time() - started
        if self.s.silenced:
            if turn.from_caller:
                conv.history.append(HistoryTurn("user", turn.transcript(), turn.speech_s))
            return
        await self._finish_transcription(turn)
        if self._waits_for_more(turn):
            # Nothing to answer: the turn ends without a reply and its audio stays with the
            # caller's next words (docs/model-rules.md, waitingForInput).
            self.s.record.extra["waited_for_input"] = self.s.record.extra.get("waited_for_input", 0) + 1
            self.current.merge(turn, front=True)
            await self.s.send(server_messages.turn_complete(reason="NEED_MORE_INPUT", waiting_for_input=True))
            return
        caller_turn_no = sum(1 for t in conv.history if t.role == "user") + 1
        step = self._tool_step(turn, caller_turn_no)
        if step is not None:
            if not await self._call_tools(step, turn):
                conv.history.append(HistoryTurn("user", turn.transcript(), turn.speech_s))
                return
            listened_s = 0.0
        turn.tool_results.extend(self.desk.notes)
        self.desk.notes.clear()
        await self._speak(turn, listened_s)

    def _waits_for_more(self, turn: UserTurn) -> bool:
        """A caller turn with nothing made out in it, and the config says to wait for more."""
        return (
            self.s.cfg.unheard_turns == "wait"
            and turn.from_caller
            and turn.recognised
            and not turn.late
            and not turn.words()
            and not (turn.texts or turn.images or turn.tool_results or turn.checking)
        )

    def _tool_step(self, turn: UserTurn, caller_turn_no: int) -> ToolStep | None:
        """The calls this turn makes: scripted ones when a scenario is set, else the function
        the caller's words ask for (:mod:`.tool_choice`), if any."""
        if not turn.from_caller or turn.tools_called:
            return None
        if self.s.scenario.steps:
            return self.s.scenario.calls_for(caller_turn_no)
        if not self.s.cfg.choose_tools:
            return None
        said = " ".join([turn.words(), *turn.texts])
        choice = choose(said, [t.raw for t in self.s.declared_tools()])
        if choice is None:
            return None
        self.s.record.extra.setdefault("tool_choices", []).append(
            {"turn": caller_turn_no, "said": said, "name": choice.name, "args": choice.args, "score": choice.score}
        )
        return ToolStep(turn=caller_turn_no, calls=[{"name": choice.name, "args": choice.args}])

    async def _finish_transcription(self, turn: UserTurn) -> None:
        """The rest of the caller's words, as the turn ends (after the interim pieces)."""
        if not self.s.setup.input_transcription:
            return
        rest = turn.transcript_rest()
        turn.heard = [h.sent() for h in turn.heard]
        late = [f for f in turn.late if f not in turn.late_sent]
        turn.late_sent.extend(late)
        if late:
            # The reply goes on; the words follow when the recogniser has them.
            task = asyncio.create_task(self._send_late_words(late, bool(rest or turn.heard)))
            self._late_sends.add(task)
            task.add_done_callback(self._late_sends.discard)
        if not rest:
            return
        if self._interim_sends:
            await asyncio.gather(*self._interim_sends)
        await self.s.send(server_messages.input_transcription(rest, finished=turn.recognised and not late))

    async def _send_late_words(self, late: list, continued: bool) -> None:
        """Send the words of utterances the reply did not wait for, the last piece finished."""
        text = ""
        for future in late:
            with contextlib.suppress(Exception):
                # Interim pieces of the utterance may have gone out already: only the rest.
                rest = (await asyncio.wait_for(asyncio.shield(future), LATE_WORDS_TIMEOUT_S)).rest()
                if rest and (text or continued) and not rest.startswith(" "):
                    rest = " " + rest
                text += rest
        self.s.record.extra.setdefault("late_words", []).append(text.strip())
        await self._send_quietly(server_messages.input_transcription(text, finished=True))

    async def _call_tools(self, step, turn: UserTurn) -> bool:
        """Make the scripted calls; False when a barge-in cancelled the blocking ones."""
        # A declaration without behavior gets the model's default (docs/model-rules.md).
        default = self.s.behaviour.default_tool_behavior
        declared = {t.name: t.behavior or default for t in self.s.declared_tools()}
        calls = self.desk.issue(step, declared)
        turn.tools_called = True
        if not calls:
            return True
        sent_at = time.monotonic()
        await self.s.send(server_messages.tool_call([{"id": c.id, "name": c.name, "args": c.args} for c in calls]))
        self.s.record.tool_calls.extend(
            {"id": c.id, "name": c.name, "args": c.args, "blocking": c.blocking, "at": sent_at} for c in calls
        )
        if not any(c.blocking for c in calls):
            turn.checking.extend(c.name for c in calls)
            return True
        self._waiting_tools = True
        try:
            await self.s.fault_phase("tool_call")
            await self.desk.wait_blocking()
        finally:
            self._waiting_tools = False
        results = [r for r in self.s.take_results(c.id for c in calls if c.blocking)]
        if not results:
            return False  # every blocking call was cancelled
        turn.tool_results.extend(results)
        return True

    async def _speak(self, turn: UserTurn, listened_s: float = 0.0) -> None:
        s = self.s
        translation, s.conv.translate_to = interpret(turn, s.conv.system_instruction, s.conv.translate_to, s.setup.language_code)
        if translation is None:
            text = s.conv.compose_reply(turn)
            speech, language = text, s.setup.language_code
        else:
            s.conv.replies += 1
            text, speech, language = translation.text, translation.speech, translation.language
            s.record.extra.setdefault("translations", []).append({"language": language, "text": text})
        self._composed = True
        remembered = len(s.conv.history)
        synth = asyncio.create_task(synthesize(speech, language, s.cfg.words_per_minute, s.setup.voice_name))
        try:
            await asyncio.sleep(max(0.0, s.scaled(s.cfg.think_ms / 1000.0) - listened_s))
            pcm = await synth
        except asyncio.CancelledError:
            synth.cancel()
            raise
        if s.setup.resumption_enabled:
            await s.send(server_messages.resumption_update(None, False))
        self._reply = ReplyStream(
            text=text,
            pcm=pcm,
            chunk_ms=s.cfg.chunk_ms,
            pace=s.cfg.pace * s.cfg.time_scale,
            send=s.send,
            transcribe=s.setup.output_transcription,
            on_first_chunk=lambda: s.fault_phase("reply"),
            pacing=s.cfg.pacing,
            connection=s.record.index,
            text_only=s.setup.response_modalities == ["TEXT"],
        )
        s.record.replies.append(Reply(text=text, persona=s.conv.persona, remembered_turns=remembered))
        await self._reply.run()
        await s.send(server_messages.generation_complete())
        await self._finish(turn, self._reply, interrupted=False)

    async def _finish(self, turn: UserTurn, reply: ReplyStream, *, interrupted: bool) -> None:
        s = self.s
        spoken = reply.spoken_text if interrupted else reply.text
        audio_s = reply.spoken_s if interrupted else reply.audio_s
        record = s.record.replies[-1]
        record.interrupted, record.spoken_text, record.audio_s = interrupted, spoken, audio_s
        prompt_audio, prompt_text = s.conv.prompt_tokens()
        prompt_audio += int(turn.speech_s * AUDIO_TOKENS_PER_S)
        usage = server_messages.usage_metadata(prompt_audio, prompt_text, int(audio_s * AUDIO_TOKENS_PER_S))
        s.conv.record(turn, spoken, audio_s)
        await s.send(server_messages.turn_complete(usage))
        await s.send_resumption_handle()

    async def barge_in(self, *, resume_turn: bool = True) -> UserTurn | None:
        """Stop the reply in progress and drop the queued ones.

        A reply already being sent ends with ``interrupted`` -> ``turnComplete``. Turns not
        yet answered (the model was still thinking, or they were queued) are merged.

        Args:
            resume_turn: Put the unanswered turns back into the caller's current turn (the
                caller simply kept talking). With False they are returned instead, for the
                caller of this method to answer.

        Returns:
            The merged unanswered turns when ``resume_turn`` is False, else None.
        """
        worker = self._worker
        if worker is None or worker.done() or self._waiting_tools:
            return None
        reply, turn, composed = self._reply, self._turn, self._composed
        pending = list(self._pending)
        self._pending.clear()
        worker.cancel()
        await asyncio.wait({worker})
        self._worker = None
        unanswered: list[UserTurn] = []
        if reply is not None and reply.started and turn is not None:
            await self.s.send(server_messages.interrupted())
            await self._finish(turn, reply, interrupted=True)
        elif turn is not None:
            if composed:
                self.s.conv.replies -= 1
            unanswered.append(turn)
        unanswered += pending
        if not unanswered:
            return None
        merged = UserTurn(from_caller=any(t.from_caller for t in unanswered))
        for t in unanswered:
            merged.merge(t)
        if not resume_turn:
            return merged
        self.current.merge(merged, front=True)
        return None

    async def tool_result(self, call, response, scheduling: str | None) -> None:
        """A non-blocking call's result arrived: act on its scheduling."""
        summary = summarise(call.name, response)
        mode = (scheduling or "WHEN_IDLE").upper()
        if mode == "SILENT":
            self.desk.notes.append(summary)
            return
        turn = UserTurn(tool_results=[summary], from_caller=False)
        if mode == "INTERRUPT":
            unanswered = await self.barge_in(resume_turn=False)
            if unanswered is not None:
                # The reply to the caller had not started: answer both at once.
                unanswered.tool_results.append(summary)
                turn = unanswered
        self._queue(turn)

    async def stop(self) -> None:
        """Cancel whatever is in progress (the connection is gone)."""
        self._pending.clear()
        for task in list(self._late_sends):
            task.cancel()
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            with contextlib.suppress(BaseException):
                await self._worker
