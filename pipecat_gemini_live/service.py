"""``GeminiLiveLLMService``: Pipecat frames in, Live API calls out, server messages back as frames.

A drop-in for Pipecat's own ``pipecat.services.google.gemini_live.GeminiLiveLLMService`` (same
core constructor arguments and ``Settings``), built to keep a call alive and in character:

- persona / instruction changes mid-call (:class:`~.frames.PersonaUpdateFrame`,
  ``LLMUpdateSettingsFrame``, a changed system message, ``LLMSetToolsFrame``) are applied
  in-session where the model allows it, else by moving the call to a new session
  (:mod:`.handover`) with the conversation carried over and no caller audio lost;
- caller audio that arrives while no session can take it is held and replayed in order
  (:mod:`.audio_hold`);
- every model difference is read from one table (:mod:`.models`).

Pipeline shape::

    transport.input() -> AudioResampler -> user aggregator -> GeminiLiveLLMService
        -> transport.output() -> assistant aggregator

Input audio: ``InputAudioRawFrame``, PCM16 LE, 16 kHz mono preferred (other rates are sent
with their rate; multi-channel audio is mixed down). Output audio: ``TTSAudioRawFrame`` at the
rate the server declares (24 kHz).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from google.genai import Client
from google.genai.types import HttpOptions, LiveServerMessage
from loguru import logger
from pipecat.adapters.llm.services.gemini_live_adapter import GeminiLiveLLMAdapter
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    FunctionCallCancelFrame,
    FunctionCallResultFrame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InputImageRawFrame,
    InputTextRawFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMMessagesAppendFrame,
    LLMConfigureOutputFrame,
    LLMMessagesTransformFrame,
    LLMMessagesUpdateFrame,
    LLMServiceMetadataFrame,
    LLMSetToolChoiceFrame,
    LLMSetToolsFrame,
    SpeechControlParamsFrame,
    StartFrame,
    STTMuteFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.google.gemini_live.llm import (
    GeminiLiveLLMSettings,
    GeminiMediaResolution,
    GeminiModalities,
    language_to_gemini_language,
)
from pipecat.services.llm_service import LLMService
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.transcriptions.language import Language
from pipecat.utils.types import is_given

from .clients import shared_client, without_ws_compression
from .audio_hold import AudioCounters
from .caller_input import CallerInput
from .changes import ChangeRouter
from .content_input import ContentInput
from .context_sync import Turn
from .frames import PersonaUpdateFrame
from .guard import SessionGuard
from .handover import Handover
from .switches import SwitchRecord, SwitchRequest
from .history import ConversationHistory
from .live_config import SessionSpec, build_connect_config, resolve_language
from .models import ModelProfile, bare_model_name, corrected, learn_refusal, profile_for
from .options import LiveOptions
from .output import ReplyRecord, ServerEvents
from .reconnect import RetryPolicy, classify
from .session import LiveSession, SessionEnd
from .tools import ToolBridge
from .turn_taking import TurnSignals
from .video_input import VideoInput

DEFAULT_MODEL = "models/gemini-3.8-live"

# Frames addressed to an LLM that a Live session has no way to honour, and why.
_UNSERVED_WHY = {
    TTSSpeakFrame: "the model speaks its own words; there is no text-to-speech input",
    LLMSetToolChoiceFrame: "the Live API has no tool choice",
    LLMConfigureOutputFrame: "the Live API's output is configured in the session setup",
    LLMMessagesTransformFrame: "the session's history cannot be transformed in place",
}
_UNSERVED = tuple(_UNSERVED_WHY)

# Settings that do not go into a session's setup: changing them needs no new session.
_NON_SESSION_FIELDS = {"filter_incomplete_user_turns", "user_turn_completion_config", "extra"}
_SPEC_FIELDS = {"system_instruction", "voice", "language", "model"}


class GeminiLiveLLMService(LLMService[GeminiLiveLLMAdapter]):
    """A Gemini Live speech-to-speech service that survives persona changes and reconnects.

    Event handlers (``@service.event_handler("...")``):

    - ``on_session_started(service, session)``: a Live session is ready (``session.index``,
      ``session.reason``).
    - ``on_session_ended(service, session, end)``: it ended (``end.code``, ``end.reason``).
    - ``on_switch(service, record)``: a persona switch / hand-over finished (a
      :class:`~.handover.SwitchRecord`).
    - ``on_reply_finished(service, reply)``: a bot reply completed or was cut (a
      :class:`~.output.ReplyRecord`).

    Args:
        api_key: Google AI API key (sent in ``x-goog-api-key``; never logged).
        model: Live model name; overrides ``settings.model`` when both are given.
        voice_id: Prebuilt voice name (Pipecat's argument name); ``settings.voice`` wins.
        system_instruction: The first persona.
        tools: A ``ToolsSchema``, a list of ``FunctionSchema`` / direct functions, or Gemini
            tool dicts.
        settings: Pipecat's ``GeminiLiveLLMService.Settings`` (generation, VAD, compression...).
        http_options: ``google.genai.types.HttpOptions`` (base URL, API version, SSL context).
        start_audio_paused: Begin with caller audio muted (frames are dropped, not held).
        start_video_paused: Begin with video input muted.
        inference_on_context_initialization: Answer right away when the first context ends
            with a user message.
        user_audio_preroll_secs: Local-VAD mode (``GeminiVADParams(disabled=True)``): audio
            kept before each turn start and sent after ``activityStart``, seconds. Default:
            the pipeline VAD's ``start_secs`` plus 0.2 s, or 0.5 s without a VAD.
        profile: Pin a :class:`~.models.ModelProfile` instead of matching the model name.
        options: Call-survival options (:class:`~.options.LiveOptions`).
        retry: Reconnect backoff (:class:`~.reconnect.RetryPolicy`).
        fallback_models: Models to try, in order, when a connect is refused because the model
            is unknown or not available to the key (1008 "not found"); each brings its own
            profile, and the move is recorded on the switch (``SwitchRecord.fallbacks``) and
            the session (``session.reason``).
        **kwargs: Passed to Pipecat's ``LLMService``.
    """

    Settings = GeminiLiveLLMSettings
    _settings: GeminiLiveLLMSettings
    adapter_class = GeminiLiveLLMAdapter

    def __init__(
        self,
        *,
        api_key: str | None,
        model: str | None = None,
        voice_id: str | None = None,
        system_instruction: str | None = None,
        tools: ToolsSchema | list | None = None,
        settings: GeminiLiveLLMSettings | None = None,
        http_options: HttpOptions | None = None,
        start_audio_paused: bool = False,
        start_video_paused: bool = False,
        inference_on_context_initialization: bool = True,
        user_audio_preroll_secs: float | None = None,
        profile: ModelProfile | None = None,
        options: LiveOptions | None = None,
        retry: RetryPolicy | None = None,
        fallback_models: list[str] | None = None,
        **kwargs,
    ):
        defaults = GeminiLiveLLMSettings(
            model=DEFAULT_MODEL,
            system_instruction=system_instruction,
            voice="Charon",
            frequency_penalty=None,
            max_tokens=None,
            presence_penalty=None,
            temperature=None,
            top_k=None,
            top_p=None,
            seed=None,
            filter_incomplete_user_turns=False,
            user_turn_completion_config=None,
            modalities=GeminiModalities.AUDIO,
            language="en-US",
            media_resolution=GeminiMediaResolution.UNSPECIFIED,
            vad=None,
            turn_coverage=None,
            context_window_compression={},
            thinking={},
            enable_affective_dialog=False,
            proactivity={},
            extra={},
        )
        if model is not None:
            defaults.model = model
        if voice_id is not None:
            defaults.voice = voice_id
        if settings is not None:
            defaults.apply_update(settings)
        if isinstance(defaults.language, Language):
            defaults.language = language_to_gemini_language(defaults.language)
        super().__init__(settings=defaults, **kwargs)

        if not api_key and type(self)._client_for_sessions is GeminiLiveLLMService._client_for_sessions:
            # Only a subclass that brings its own client (Vertex AI) goes without a key.
            raise ValueError("api_key is required (a Google AI API key, or the emulator's key)")
        self._api_key = api_key
        self._http_options = http_options
        self._client: Client | None = None
        self._profile_override = profile
        self.options = options or LiveOptions()
        self.retry = retry or RetryPolicy()
        self._tools_from_init = self._normalise_tools(tools)
        self.fallback_models = list(fallback_models or [])
        self._inference_on_context_initialization = inference_on_context_initialization

        self.audio_out_frames = 0
        self._preroll_override = user_audio_preroll_secs
        preroll = 0.5 if user_audio_preroll_secs is None else user_audio_preroll_secs
        self.caller = CallerInput(self, self.options.max_held_audio_s, preroll_s=preroll)
        self.caller.paused = start_audio_paused
        self.video = VideoInput(self)
        self.video.paused = start_video_paused
        self.turns = TurnSignals(self)
        self.history = ConversationHistory()
        self._events = ServerEvents(self)
        self.tools = ToolBridge(self)
        self.handover = Handover(self)
        self.guard = SessionGuard(self)
        self.content = ContentInput(self)
        self.changes = ChangeRouter(self)
        self._session: LiveSession | None = None
        self._session_count = 0
        self._ending = False
        self._warned: set[str] = set()
        self.call_started_at: float | None = None
        self.call_clock = None
        self.cut_by_drop = False
        self._fell_back = False
        self._refused: str | None = None  # the kind of message a first 1007 refused

        for name in ("on_session_started", "on_session_ended", "on_switch", "on_reply_finished"):
            self._register_event_handler(name)

    # -- Pipecat plumbing --------------------------------------------------------------------

    def can_generate_metrics(self) -> bool:
        """Usage and TTFB metrics are reported."""
        return True

    def service_metadata_frame(self) -> LLMServiceMetadataFrame:
        """A realtime service that announces the caller's turns itself (server VAD).

        With server-side VAD the service emits the user turn frames, so it recommends
        ``ExternalUserTurnStrategies`` to the user aggregator; in local-VAD mode the pipeline's
        own strategies drive the turns.
        """
        strategies = None if self.manual_turns else ExternalUserTurnStrategies()
        return LLMServiceMetadataFrame(
            service_name=self.name, is_realtime_service=True, user_turn_strategies=strategies
        )

    @property
    def manual_turns(self) -> bool:
        """Local-VAD mode: the pipeline's VAD drives ``activityStart`` / ``activityEnd``."""
        vad = self._settings.vad
        return bool(is_given(vad) and vad is not None and vad.disabled)

    def set_audio_input_paused(self, paused: bool) -> None:
        """Stop (or resume) sending caller audio; paused frames are dropped, not held."""
        self.caller.paused = paused

    def set_video_input_paused(self, paused: bool) -> None:
        """Stop (or resume) sending images."""
        self.video.paused = paused

    def _service_tools(self):
        return self._tools_from_init

    @staticmethod
    def _normalise_tools(tools):
        if isinstance(tools, list) and tools and not all(isinstance(t, dict) for t in tools):
            return LLMContext._normalize_and_validate_tools(tools, allow_provider_tools=True)
        return tools

    @property
    def profile(self) -> ModelProfile:
        """The profile of the current model (or the pinned one)."""
        return self.profile_for_model(str(self._settings.model))

    def profile_for_model(self, model: str) -> ModelProfile:
        """The profile that governs ``model`` (the pinned one, when given)."""
        if self._profile_override is not None:
            return corrected(self._profile_override, model)
        return profile_for(model)

    @property
    def context(self) -> LLMContext | None:
        """The pipeline's LLM context, once an ``LLMContextFrame`` has arrived."""
        return self.changes.context

    @property
    def session(self) -> LiveSession | None:
        """The session the call is on now."""
        return self._session

    def call_time(self, at: float | None = None) -> float:
        """Seconds on the call's clock for a ``time.monotonic()`` value (now when None).

        The pipeline's start is 0 unless an application set ``call_clock`` (a function of a
        monotonic time), as the WAV call does to share its transport's clock.
        """
        at = at if at is not None else time.monotonic()
        if self.call_clock is not None:
            return self.call_clock(at)
        return at - (self.call_started_at or at)

    def warn_once(self, key: str, message: str) -> None:
        """Log ``message`` once per call."""
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(f"{self}: {message}")

    # -- session building (used by the hand-over) -------------------------------------------

    def _client_for_sessions(self) -> Client:
        if self._client is None:
            # One client per process and endpoint: building one per call stalls the event loop.
            options = self._http_options
            if not self.options.websocket_compression:
                options = without_ws_compression(options)
            self._client = shared_client(api_key=self._api_key, http_options=options)
        return self._client

    def current_spec(self) -> SessionSpec:
        """The session setup the settings call for now."""
        tools = self._tools_from_init
        context = self.changes.context
        if context is not None and is_given(context.tools):
            tools = context.tools
        gemini_tools = self.get_llm_adapter().from_standard_tools(tools) if tools else None
        if gemini_tools is not None and not is_given(gemini_tools):
            gemini_tools = None
        si = self._settings.system_instruction
        return SessionSpec(
            model=str(self._settings.model),
            system_instruction=si if isinstance(si, str) and si else None,
            voice=str(self._settings.voice) if is_given(self._settings.voice) else None,
            language=resolve_language(self._settings.language),
            tools=list(gemini_tools) if gemini_tools else None,
        )

    def next_fallback_model(self, refused: str) -> str | None:
        """The model to try after ``refused`` was refused, or None when none is left."""
        names = [bare_model_name(m) for m in self.fallback_models]
        current = bare_model_name(refused)
        position = names.index(current) + 1 if current in names else 0
        return self.fallback_models[position] if position < len(names) else None

    def use_model(self, model: str) -> SessionSpec:
        """Make ``model`` the call's model (a fallback); returns the setup it calls for."""
        self._settings.model = model
        self._fell_back = True
        return self.current_spec()

    def new_session(self, spec: SessionSpec, *, reason: str, resumption_handle: str | None = None) -> LiveSession:
        """A session for ``spec``, built but not opened."""
        profile = self.profile_for_model(spec.model)
        config = build_connect_config(
            spec,
            self._settings,
            profile,
            resumption_handle=resumption_handle,
            non_blocking_functions=self.non_blocking_functions(),
            default_compression=self.options.context_compression,
            barge_in=self.options.barge_in,
        )
        if self._fell_back and self._session is None and reason == "start":
            reason = f"start (fallback to {spec.model})"
        session = LiveSession(
            client=self._client_for_sessions(),
            model=spec.model,
            config=config,
            index=self._session_count,
            reason=reason,
            on_message=self._on_server_message,
            on_end=self._on_session_end,
            create_task=self.create_task,
        )
        session.spec = spec
        session.system_instruction = spec.system_instruction
        self._session_count += 1
        return session

    def non_blocking_functions(self) -> set[str]:
        """Functions registered with ``cancel_on_interruption=False`` (Pipecat's async tools)."""
        return {name for name, item in self._functions.items() if name and not item.cancel_on_interruption}

    async def activate(self, session: LiveSession) -> None:
        """Make ``session`` the one the call is on (its output is played from now on)."""
        self._session = session
        self.caller.tail.reset()
        self.guard.session_changed()
        await self._call_event_handler("on_session_started", session)

    async def cut_reply(self) -> None:
        """Stop the bot's reply in progress (a persona switch cuts it, like a human would)."""
        if await self._events.cut():
            await self.broadcast_interruption()

    def suppress_current_reply(self) -> None:
        """Drop what is left of the reply the current session is generating (cut by a switch)."""
        if self._session is not None:
            self._events.suppress_reply_of(self._session)

    @property
    def output_cushion(self):
        """The reply audio playout cushion (:class:`~.playout.PlayoutCushion`), or None when
        ``LiveOptions.output_cushion_ms`` is off."""
        return self._events.cushion

    @property
    def responding(self) -> bool:
        """Whether a reply is being played."""
        return self._events.translator.responding

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, frame: StartFrame):
        """Open the first session in the background; caller audio is held until it is ready."""
        await super().start(frame)
        self.call_started_at = time.monotonic()
        self.guard.start()
        await self.handover.request(SwitchRequest(reason="start", spec=self.current_spec()))

    async def stop(self, frame: EndFrame):
        """Hang up: close every session with 1000."""
        await super().stop(frame)
        await self._hang_up()

    async def cancel(self, frame: CancelFrame):
        """Cancel: close every session with 1000 without waiting for anything else."""
        await super().cancel(frame)
        await self._hang_up()

    async def cleanup(self):
        """Release the sessions at teardown."""
        await super().cleanup()
        await self._hang_up()

    async def _hang_up(self) -> None:
        if self._ending:
            return
        self._ending = True
        await self.guard.stop()
        await self.caller.flush_batch()  # the last grouped frames go out before the close
        await self.handover.shutdown()
        session, self._session = self._session, None
        if session is not None:
            await session.close(self.options.close_timeout_s)
        if len(self.caller.hold):
            logger.info(f"{self}: call ended with {len(self.caller.hold)} caller frames still held")
            self.caller.hold.discard()

    # -- frames in ---------------------------------------------------------------------------

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Route pipeline frames to the Live session; re-push what is not consumed."""
        if isinstance(frame, EndFrame):
            await self._let_the_last_reply_finish()
        await super().process_frame(frame, direction)

        if isinstance(frame, InputAudioRawFrame):
            if not self._ending:
                await self.caller.on_frame(frame)
            await self.push_frame(frame, direction)
        elif isinstance(frame, PersonaUpdateFrame):
            await self.changes.persona(frame)
        elif isinstance(frame, InputTextRawFrame):
            await self.content.text(frame.text)
            await self.push_frame(frame, direction)
        elif isinstance(frame, InputImageRawFrame):
            await self.video.on_frame(frame)
            await self.push_frame(frame, direction)
        elif isinstance(frame, UserStartedSpeakingFrame):
            if self.manual_turns:
                await self.caller.user_started()
            await self.push_frame(frame, direction)
        elif isinstance(frame, UserStoppedSpeakingFrame):
            if self.manual_turns:
                await self.caller.user_stopped()
            await self.push_frame(frame, direction)
        elif isinstance(frame, SpeechControlParamsFrame):
            if frame.vad_params is not None and self._preroll_override is None:
                self.caller.preroll_s = frame.vad_params.start_secs + 0.2
            await self.push_frame(frame, direction)
        elif isinstance(frame, InterruptionFrame):
            await self._events.on_pipeline_interruption()
            await self.push_frame(frame, direction)
        elif isinstance(frame, LLMContextFrame):
            await self.changes.context_frame(frame.context)
        elif isinstance(frame, LLMMessagesUpdateFrame):
            await self.changes.messages_update(frame.messages)
            await self.push_frame(frame, direction)
        elif isinstance(frame, LLMMessagesAppendFrame):
            await self.content.messages_append(frame)
            await self.push_frame(frame, direction)
        elif isinstance(frame, LLMSetToolsFrame):
            await self.changes.set_tools(frame)
        elif isinstance(frame, InputDTMFFrame):
            # A phone menu key: the model hears about it as the caller's text and answers it.
            await self.content.deliver(
                [Turn("user", f"(The caller pressed the {frame.button.value} key.)")], respond=True, kind="dtmf"
            )
            await self.push_frame(frame, direction)
        elif isinstance(frame, STTMuteFrame):
            # This service is the pipeline's speech recogniser: muting it stops the caller's audio.
            self.caller.paused = frame.mute
            await self.push_frame(frame, direction)
        elif isinstance(frame, _UNSERVED) and direction == FrameDirection.DOWNSTREAM:
            self.warn_once(
                type(frame).__name__,
                f"{type(frame).__name__} cannot be served by a Gemini Live session ({_UNSERVED_WHY[type(frame)]}); "
                "passed on unchanged",
            )
            await self.push_frame(frame, direction)
        else:
            await self.push_frame(frame, direction)

    async def _let_the_last_reply_finish(self) -> None:
        """An ``EndFrame`` while the bot is speaking, or owes an answer (a tool that ends the
        call returned its result, and the goodbye is still to come): hang up after that reply,
        within ``LiveOptions.finish_reply_timeout_s``."""
        session = self._session
        if session is None or not session.ready or not (self.responding or self.guard.owed):
            return
        logger.debug(f"{self}: call ending; letting the last reply finish first")
        deadline = time.monotonic() + self.options.finish_reply_timeout_s
        while (self.responding or self.guard.owed) and session.ready and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    # -- caller audio ------------------------------------------------------------------------

    @property
    def audio_counters(self) -> AudioCounters:
        """Caller audio accounting (sent, held, dropped, replayed frames)."""
        return self.caller.counters

    async def drain_hold(self, session: LiveSession) -> int:
        """Send held caller audio to ``session`` in order (used by the hand-over)."""
        return await self.caller.drain(session)

    async def deliver_note(self, text: str) -> None:
        """Give the model a user-side note it should answer (see :mod:`.content_input`)."""
        await self.content.note(text)

    async def flush_notes(self) -> None:
        """Deliver notes and tool results that waited for a session."""
        await self.tools.flush()
        await self.content.flush()

    def set_tools(self, tools) -> None:
        """Replace the service's own tools (a ``ToolsSchema``, schemas, or Gemini dicts)."""
        self._tools_from_init = self._normalise_tools(tools)

    @property
    def inference_on_context_initialization(self) -> bool:
        """Whether a first context ending with a user message is answered at once."""
        return self._inference_on_context_initialization

    async def _update_settings(self, delta) -> dict[str, Any]:
        changed = await super()._update_settings(delta)
        if isinstance(self._settings.language, Language):
            self._settings.language = language_to_gemini_language(self._settings.language)
        if self._session is None or not changed:
            return changed
        if changed.keys() & _SPEC_FIELDS:
            await self.request_switch("settings")
        elif set(changed) - _NON_SESSION_FIELDS:
            # Generation fields (temperature, VAD...) exist only in the setup; they are not a
            # change of who is speaking, so the reply in progress is not cut for them.
            await self.request_switch("settings", force_new=True, gentle=True)
        return changed

    async def request_switch(self, reason: str, label: str | None = None, **flags) -> None:
        """Ask the hand-over to move (or update) the call; see :class:`~.handover.SwitchRequest`."""
        if self._ending:
            return
        await self.handover.request(
            SwitchRequest(reason=reason, spec=self.current_spec(), label=label, **flags)
        )

    # -- replies, tools, goAway (called by ServerEvents) --------------------------------------

    async def on_bot_started(self) -> None:
        """First output of a reply: time-to-first-byte from the caller's last speech."""
        self.guard.reply_settled()
        await self.turns.caller_stopped()
        self.caller.tail.reply_started()
        last_voice = self.caller.clock.last_voice_at
        if last_voice is not None:
            # Pipecat's metrics run on wall-clock time.
            await self.start_ttfb_metrics(start_time=time.time() - (time.monotonic() - last_voice))
            await self.stop_ttfb_metrics()

    async def on_bot_stopped(self, reply: ReplyRecord) -> None:
        """A reply ended (completed or cut): tell ``on_reply_finished`` handlers."""
        self.guard.reply_settled()
        await self._call_event_handler("on_reply_finished", reply)

    @property
    def replies(self) -> list[ReplyRecord]:
        """Every reply of the call so far."""
        return self._events.replies

    async def on_caller_speaking(self) -> None:
        """The server transcribed caller speech for a new turn."""
        await self.turns.caller_started()

    async def on_tool_calls(self, calls: list[Any]) -> None:
        """``toolCall`` from the server."""
        await self.tools.on_tool_calls(calls)

    async def on_tool_call_cancellation(self, ids: list[str]) -> None:
        """``toolCallCancellation`` from the server."""
        await self.tools.on_cancellation(ids)

    async def on_go_away(self, time_left_s: float) -> None:
        """``goAway``: move the call at the next turn boundary, before the deadline."""
        logger.info(f"{self}: goAway, {time_left_s:.1f}s left on {self._session}")
        if self._session is not None:
            self.guard.go_away(self._session, time_left_s)

    async def abandon_session(self, session: LiveSession, reason: str) -> None:
        """Give up on a session that is still open (stalled): reconnect as after a drop."""
        if session is not self._session:
            return
        cut = await self._events.cut()
        self.history.end_model_turn()
        await session.abort()
        await self.request_switch(
            "reconnect", resume=True, old_dead=True, respond=cut, dead_session=session.index, label=reason
        )

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        """Push a frame; a function result on its way downstream is also sent to the model."""
        if direction == FrameDirection.DOWNSTREAM:
            if isinstance(frame, FunctionCallResultFrame):
                await self.tools.on_result(frame)
            elif isinstance(frame, FunctionCallCancelFrame):
                await self.tools.on_cancel_frame(frame)
        await super().push_frame(frame, direction)

    # -- server side ---------------------------------------------------------------------------

    async def _on_server_message(self, session: LiveSession, message: LiveServerMessage) -> None:
        if message.session_resumption_update is not None:
            update = message.session_resumption_update
            session.resumable = bool(update.resumable)
            if update.resumable and update.new_handle:
                session.handle = update.new_handle
                if session is self._session:
                    self.caller.tail.checkpoint()
        if session is not self._session:
            return  # a session being set up, or one the call has left
        self.guard.saw_message()
        await self._events.handle(message, session)

    async def _on_session_end(self, session: LiveSession, end: SessionEnd) -> None:
        await self._call_event_handler("on_session_ended", session, end)
        if self._ending or end.by_us or session is not self._session:
            return
        verdict = classify(end.code, end.reason, end.error)
        logger.warning(f"{self}: {session} ended unexpectedly: {end.code} {end.reason!r}")
        cut = await self._events.cut()
        self.cut_by_drop = cut
        self.history.end_model_turn()
        if end.code == 1007 and not self._refused:
            await self._recover_from_refusal(session, end, cut)
            return
        if not verdict.retry:
            self._session = None
            await self.push_error(
                f"Gemini Live session ended: {verdict.explanation}", force_treat_as_permanent=True
            )
            return
        # A reply cut by the drop is taken up again: a resumed session answers the replayed
        # audio; a re-seeded one is asked to go on.
        await self.request_switch(
            "reconnect", resume=True, old_dead=True, respond=cut, dead_session=session.index
        )

    async def _recover_from_refusal(self, session: LiveSession, end: SessionEnd, cut: bool) -> None:
        """A first 1007: the server refused something we sent. Move to a fresh session.

        The new session is seeded with the history (text turns, which every model takes), the
        kind of message refused is not sent to that model again in this process, and the
        pipeline gets an ``ErrorFrame`` that says what was refused. A second 1007 in the call
        ends it.
        """
        kind = session.last_sent_kind or "unknown"
        self._refused = kind
        learned = learn_refusal(session.model, kind)
        if learned:
            logger.warning(f"{self}: {session.model} refused {kind}; not sending it again ({learned})")
        await self.push_error(
            f"Gemini Live refused a request (1007 {end.reason!r}) after {kind}; the call moved to "
            "a fresh session seeded with the conversation"
            + (f", and {kind} will not be sent to this model again" if learned else "")
        )
        await self.request_switch(
            "reconnect", old_dead=True, force_new=True, respond=cut, dead_session=session.index, label="1007"
        )

    async def report_switch(self, record: SwitchRecord) -> None:
        """Tell event handlers a switch finished (called by the hand-over)."""
        await self._call_event_handler("on_switch", record)

