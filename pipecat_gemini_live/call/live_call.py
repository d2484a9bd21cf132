"""One call's runtime, assembled: the link, and every part that works through it.

:class:`LiveCall` builds the parts of a call (caller audio, text, images, tools, replies, the
switcher, the watchdog, session events, persona changes) and hands each one the
:class:`~.link.SessionLink` and the narrow callbacks it needs, so that no part knows the Pipecat
processor that hosts the call (:class:`CallHost` is all of the host they see).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from google.genai import Client
from loguru import logger
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InputImageRawFrame,
    InputTextRawFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMMessagesAppendFrame,
    LLMMessagesUpdateFrame,
    LLMSetToolsFrame,
    SpeechControlParamsFrame,
    STTMuteFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import LLMTokenUsage
from pipecat.processors.aggregators.llm_context import LLMContext

from ..frames import PersonaUpdateFrame
from ..protocol.close_codes import RetryPolicy
from ..protocol.context_messages import Turn
from ..protocol.history import ConversationHistory
from ..protocol.profiles import ModelProfile
from ..protocol.setup import SessionSpec
from ..protocol.switch_plan import SwitchRequest
from .caller_audio import CallerAudio
from .link import CallHooks, SessionLink
from .live_options import LiveOptions
from .persona_changes import ChangeRouter
from .recovery import SessionEvents
from .replies import ReplyListener, ReplyRecord, ServerEvents
from .sessions import SessionFactory
from .switcher import Switcher
from .text_input import TextInput
from .tools import FunctionRunner, ToolBridge
from .turn_signals import TurnSignals
from .video_input import VideoInput
from .watchdog import SessionWatchdog


@dataclass
class CallHost:
    """What the call needs of the service that hosts it, beyond :class:`~.link.CallHooks`.

    Attributes:
        settings: The service's Live settings (``GeminiLiveLLMSettings``).
        manual_turns: Whether the pipeline's VAD drives the turns.
        profile_for_model: The profile that governs a model name.
        current_spec: The session setup the settings call for now.
        set_model: Makes a model the call's model (a fallback); returns the spec it calls for.
        client: The ``google.genai`` client sessions connect with.
        functions: The service's function calling.
        set_instruction: Makes a text the system instruction.
        set_tools: ``set_tools(tools, sync_handlers)``.
        emit: ``emit(name, *args)``: runs the service's event handlers (Pipecat's, through
            :func:`~pipecat_gemini_live.pipecat_private.event_emitter`).
        usage: Reports token usage (Pipecat's ``start_llm_usage_metrics``).
        ttfb: ``ttfb(start_time)``: reports time to first byte from a wall-clock start.
    """

    settings: Callable[[], Any]
    manual_turns: Callable[[], bool]
    profile_for_model: Callable[[str], ModelProfile]
    current_spec: Callable[[], SessionSpec]
    set_model: Callable[[str], SessionSpec]
    client: Callable[[], Client]
    functions: FunctionRunner
    set_instruction: Callable[[str], None]
    set_tools: Callable[[Any, bool], None]
    emit: Callable[..., Awaitable[None]]
    usage: Callable[[LLMTokenUsage], Awaitable[None]]
    ttfb: Callable[[float], Awaitable[None]]


class LiveCall:
    """The runtime of one call.

    Args:
        host: What the call needs of its service.
        hooks: Frames, errors, tasks and warnings of the hosting processor.
        options: Call-survival options.
        retry: Reconnect backoff.
        fallback_models: Models to try when one is refused as unknown.
        preroll_s: Local VAD: audio kept before each turn start, seconds.
        answer_first_context: ``inference_on_context_initialization``, read when the first
            context arrives.
    """

    def __init__(
        self,
        host: CallHost,
        hooks: CallHooks,
        *,
        options: LiveOptions,
        retry: RetryPolicy,
        fallback_models: list[str],
        preroll_s: float,
        answer_first_context: Callable[[], bool],
    ):
        self.host = host
        self.options = options
        self.ending = False
        self.link = link = SessionLink(options.max_held_audio_s)
        self.history = history = ConversationHistory()
        profile = lambda: host.profile_for_model(str(host.settings().model))  # noqa: E731
        owed = lambda: self.watchdog.reply_owed()  # noqa: E731
        self.caller = CallerAudio(link, hooks, host.manual_turns, preroll_s=preroll_s)
        self.video = VideoInput(link, hooks.push_error)
        self.turns = TurnSignals(host.manual_turns, hooks.broadcast_frame)
        self.text = TextInput(link, hooks, history, profile, owed)
        self.tools = ToolBridge(link, hooks, history, host.functions, profile, owed, self.text.note)
        listener = ReplyListener(
            bot_started=self._bot_started, bot_stopped=self._bot_stopped,
            caller_speaking=self.turns.caller_started,
            caller_transcript=lambda text: self.changes.tracker.pushed_transcript(text),
            reply_spoken=lambda text: self.changes.tracker.spoke(text),
            tool_calls=self._function_calls, tool_cancellation=self._function_calls_cancelled,
            go_away=self._go_away, turn_complete=lambda: self.watchdog.reply_settled(), usage=host.usage,
            speech_owed=lambda: self.caller.tail.unanswered_for() is not None,
        )  # fmt: skip
        self.replies = replies = ServerEvents(link, hooks, history, listener, options.output_cushion_ms or 0)
        self.sessions = SessionFactory(
            client=host.client, settings=host.settings, profile_for_model=host.profile_for_model,
            non_blocking=host.functions.non_blocking, set_model=host.set_model, options=options,
            fallback_models=fallback_models, on_message=lambda s, m: self.session_events.on_message(s, m),
            on_end=lambda s, e: self.session_events.on_end(s, e), create_task=hooks.create_task,
        )  # fmt: skip
        self.switcher = Switcher(
            link=link, hooks=hooks, sessions=self.sessions, caller=self.caller, replies=replies,
            history=history, options=options, retry=retry, on_switch=lambda r: host.emit("on_switch", r),
        )  # fmt: skip
        self.watchdog = SessionWatchdog(
            link=link, hooks=hooks, caller=self.caller, replies=replies, options=options,
            switching=lambda: self.switcher.busy, request_switch=self.request_switch,
            abandon=lambda session, reason: self.session_events.abandon(session, reason),
        )  # fmt: skip
        self.caller.on_audio = self.watchdog.audio_arrived
        self.switcher.on_idle = self.watchdog.poke
        self.switcher.reply_owed = lambda: self.watchdog.owed
        self.session_events = SessionEvents(
            link=link, hooks=hooks, replies=replies, history=history, caller=self.caller,
            watchdog=self.watchdog, request_switch=self.request_switch, ending=lambda: self.ending,
            on_session_ended=lambda s, e: host.emit("on_session_ended", s, e),
        )  # fmt: skip
        self.changes = ChangeRouter(
            link=link, text=self.text, history=history, settings=host.settings,
            set_instruction=host.set_instruction, set_tools=host.set_tools, current_spec=host.current_spec,
            request_switch=self.request_switch, replies_made=lambda: bool(replies.replies),
            warn_once=hooks.warn_once, answer_first_context=answer_first_context,
        )  # fmt: skip
        link.on_session_changed(lambda session: self.caller.tail.reset())
        link.on_session_changed(self.watchdog.session_changed)
        link.on_session_changed(lambda session: host.emit("on_session_started", session))

    @property
    def context(self) -> LLMContext | None:
        """The pipeline's LLM context, once one has arrived."""
        return self.changes.context

    async def take_audio(self, frame: InputAudioRawFrame) -> None:
        """One caller audio frame (the host re-pushes it, or not)."""
        if not self.ending:
            await self.caller.on_frame(frame)

    async def take(self, frame: Frame, *, preroll_from_vad: bool = True) -> None:
        """Hand a pipeline frame to the part of the call it is for (the host re-pushes it, or
        not); ``preroll_from_vad``: the pipeline VAD's start delay sets the local-VAD pre-roll."""
        if isinstance(frame, InputAudioRawFrame):
            await self.take_audio(frame)
        elif isinstance(frame, PersonaUpdateFrame):
            await self.changes.persona(frame)
        elif isinstance(frame, InputTextRawFrame):
            await self.text.text(frame.text)
        elif isinstance(frame, InputImageRawFrame):
            await self.video.on_frame(frame)
        elif isinstance(frame, UserStartedSpeakingFrame):
            if self.host.manual_turns():
                await self.caller.user_started()
        elif isinstance(frame, UserStoppedSpeakingFrame):
            if self.host.manual_turns():
                await self.caller.user_stopped()
        elif isinstance(frame, SpeechControlParamsFrame):
            if frame.vad_params is not None and preroll_from_vad:
                self.caller.preroll_s = frame.vad_params.start_secs + 0.2
        elif isinstance(frame, InterruptionFrame):
            await self.replies.on_pipeline_interruption()
        elif isinstance(frame, LLMContextFrame):
            await self.changes.context_frame(frame.context)
        elif isinstance(frame, LLMMessagesUpdateFrame):
            await self.changes.messages_update(frame.messages)
        elif isinstance(frame, LLMMessagesAppendFrame):
            await self.text.messages_append(frame)
        elif isinstance(frame, LLMSetToolsFrame):
            await self.changes.set_tools(frame)
        elif isinstance(frame, InputDTMFFrame):
            # A phone menu key: the model hears about it as the caller's text and answers it.
            key = f"(The caller pressed the {frame.button.value} key.)"
            await self.text.deliver([Turn("user", key)], respond=True, kind="dtmf")
        elif isinstance(frame, STTMuteFrame):
            # This service is the pipeline's speech recogniser: muting it stops the caller's audio.
            self.caller.paused = frame.mute

    async def start(self) -> None:
        """Open the first session in the background; caller audio is held until it is ready."""
        self.watchdog.start()
        await self.switcher.request(SwitchRequest(reason="start", spec=self.host.current_spec()))

    async def request_switch(self, reason: str, label: str | None = None, **flags) -> None:
        """Ask the switcher to move (or update) the call (see
        :class:`~..protocol.switch_plan.SwitchRequest`); nothing once the call is ending."""
        if self.ending:
            return
        await self.switcher.request(SwitchRequest(reason=reason, spec=self.host.current_spec(), label=label, **flags))

    async def hang_up(self) -> None:
        """Close every session with 1000 and drop what still waits; once."""
        if self.ending:
            return
        self.ending = True
        await self.watchdog.stop()
        await self.caller.flush_batch()  # the last grouped frames go out before the close
        await self.switcher.shutdown()
        session, self.link.session = self.link.session, None
        if session is not None:
            await session.close(self.options.close_timeout_s)
        held = self.link.forget()
        if held:
            logger.info(f"{session}: call ended with {held} caller frames still held")

    async def let_the_last_reply_finish(self) -> None:
        """The call is ending while the bot speaks or owes an answer (a tool that ends the call
        returned, the goodbye is still to come): wait for that reply, within
        ``finish_reply_timeout_s``."""
        session = self.link.session
        if session is None or not session.ready or not (self.replies.responding or self.watchdog.owed):
            return
        logger.debug(f"{session}: call ending; letting the last reply finish first")
        done = lambda: not (self.replies.responding or self.watchdog.owed) or not session.ready  # noqa: E731
        await self.watchdog.wait_until(done, self.options.finish_reply_timeout_s)

    async def _bot_started(self) -> None:
        """First output of a reply: the caller's turn is over; time to first byte is measured
        from the caller's last speech."""
        self.watchdog.reply_settled()
        await self.turns.caller_stopped()
        self.caller.tail.reply_started()
        last_voice = self.caller.clock.last_voice_at
        if last_voice is not None:
            # Pipecat's metrics run on wall-clock time.
            await self.host.ttfb(time.time() - (time.monotonic() - last_voice))

    async def _function_calls(self, calls: list) -> None:
        self.caller.tail.function_called()
        await self.tools.on_tool_calls(calls)

    async def _function_calls_cancelled(self, ids: list[str]) -> None:
        if await self.tools.on_cancellation(ids):
            self.caller.tail.function_cancelled()

    async def _bot_stopped(self, reply: ReplyRecord) -> None:
        self.watchdog.reply_settled()
        if not reply.interrupted:
            self.caller.tail.reply_finished()
        await self.host.emit("on_reply_finished", reply)

    async def _go_away(self, time_left_s: float) -> None:
        session = self.link.session
        logger.info(f"goAway, {time_left_s:.1f}s left on {session}")
        if session is not None:
            self.watchdog.go_away(session, time_left_s)
