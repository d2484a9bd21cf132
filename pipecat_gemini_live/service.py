"""``GeminiLiveLLMService``: Pipecat frames in, Live API calls out, server messages back as frames.

A drop-in for Pipecat's own ``pipecat.services.google.gemini_live.GeminiLiveLLMService`` (same
core constructor arguments and ``Settings``), built to keep a call alive and in character:

- persona / instruction changes mid-call (:class:`~.frames.PersonaUpdateFrame`,
  ``LLMUpdateSettingsFrame``, a changed system message, ``LLMSetToolsFrame``) are applied
  in-session where the model allows it, else by moving the call to a new session
  (:mod:`.call.switcher`) with the conversation carried over and no caller audio lost;
- caller audio that arrives while no session can take it is held and replayed in order
  (:mod:`.call.link`);
- every model difference is read from one table (:mod:`.protocol.profiles`).

Pipeline shape::

    transport.input() -> AudioResampler -> user aggregator -> GeminiLiveLLMService
        -> transport.output() -> assistant aggregator

Input audio: ``InputAudioRawFrame``, PCM16 LE, 16 kHz mono preferred (other rates are sent
with their rate; multi-channel audio is mixed down). Output audio: ``TTSAudioRawFrame`` at the
rate the server declares (24 kHz).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from google.genai import Client
from google.genai.types import HttpOptions
from loguru import logger
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.adapters.llm.services.gemini_live_adapter import GeminiLiveLLMAdapter
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    FunctionCallCancelFrame,
    FunctionCallResultFrame,
    InputAudioRawFrame,
    LLMContextFrame,
    LLMServiceMetadataFrame,
    LLMSetToolsFrame,
    StartFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.google.gemini_live.llm import GeminiLiveLLMSettings
from pipecat.services.llm_service import LLMService
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies

from . import pipecat_private as private
from .call.audio_hold import AudioCounters
from .call.call_clock import CallClock
from .call.clients import api_key_client
from .call.connection import LiveSession
from .call.link import CallHooks
from .call.live_call import CallHost, LiveCall
from .call.live_options import LiveOptions
from .call.replies import ReplyRecord
from .call.session_setup import SessionSetup
from .call.tools import FunctionRunner
from .frames import PersonaUpdateFrame
from .protocol.close_codes import RetryPolicy
from .protocol.profiles import ModelProfile
from .service_settings import DEFAULT_MODEL, initial_settings, local_vad, needs_switch, normalize_language, unserved_warning

__all__ = ["DEFAULT_MODEL", "GeminiLiveLLMService"]


class GeminiLiveLLMService(LLMService[GeminiLiveLLMAdapter]):
    """A Gemini Live speech-to-speech service that survives persona changes and reconnects.

    Event handlers (``@service.event_handler("...")``):

    - ``on_session_started(service, session)``: a Live session is ready (``session.index``,
      ``session.reason``).
    - ``on_session_ended(service, session, end)``: it ended (``end.code``, ``end.reason``).
    - ``on_switch(service, record)``: a persona switch / hand-over finished (a
      :class:`~.protocol.switch_plan.SwitchRecord`).
    - ``on_reply_finished(service, reply)``: a bot reply completed or was cut (a
      :class:`~.call.replies.ReplyRecord`).

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
        inference_on_context_initialization: Answer the first context's opening messages
            right away; False gives them to the session without asking for a reply (as the
            built-in does). The attribute of that name is read when the first context arrives.
        user_audio_preroll_secs: Local-VAD mode (``GeminiVADParams(disabled=True)``): audio
            kept before each turn start and sent after ``activityStart``, seconds. Default:
            the pipeline VAD's ``start_secs`` plus 0.2 s, or 0.5 s without a VAD.
        profile: Pin a :class:`~.protocol.profiles.ModelProfile` instead of matching the model name.
        options: Call-survival options (:class:`~.call.live_options.LiveOptions`).
        retry: Reconnect backoff (:class:`~.protocol.close_codes.RetryPolicy`).
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
        start = initial_settings(model=model, voice_id=voice_id, system_instruction=system_instruction, settings=settings)
        super().__init__(settings=start, **kwargs)
        if not api_key and type(self)._client_for_sessions is GeminiLiveLLMService._client_for_sessions:
            # Only a subclass that brings its own client (Vertex AI) goes without a key.
            raise ValueError("api_key is required (a Google AI API key, or the emulator's key)")
        self._api_key = api_key
        self._http_options = http_options
        self._client: Client | None = None
        self.options = options or LiveOptions()
        self.retry = retry or RetryPolicy()
        self.fallback_models = list(fallback_models or [])
        self.inference_on_context_initialization = inference_on_context_initialization
        self._preroll_override = user_audio_preroll_secs
        self._warned: set[str] = set()
        self.clock = CallClock()  # ``clock.shared``: an application's clock for switch times
        self.session_setup = setup = SessionSetup(
            lambda: self._settings, tools=tools, pinned_profile=profile, context=lambda: self.call.context,
            gemini_tools=lambda t: self.get_llm_adapter().from_standard_tools(t),
        )  # fmt: skip
        hooks = CallHooks(
            self.push_frame, self.push_error, self.broadcast_frame, self.broadcast_interruption,
            self.create_task, self.cancel_task, self.warn_once, self.clock,
        )  # fmt: skip
        functions = FunctionRunner(
            self.has_function, self.run_function_calls, partial(private.cancel_function_call, self),
            self.non_blocking_functions, lambda: self.call.context,
        )  # fmt: skip
        host = CallHost(
            settings=lambda: self._settings, manual_turns=lambda: self.manual_turns,
            profile_for_model=self.profile_for_model, current_spec=setup.spec, set_model=setup.use_model,
            client=self._client_for_sessions, functions=functions, set_instruction=self._set_instruction,
            set_tools=self._replace_tools, emit=private.event_emitter(self), usage=self.start_llm_usage_metrics,
            ttfb=self._report_ttfb,
        )  # fmt: skip
        self.call = call = LiveCall(
            host, hooks, options=self.options, retry=self.retry, fallback_models=self.fallback_models,
            preroll_s=0.5 if user_audio_preroll_secs is None else user_audio_preroll_secs,
            answer_first_context=lambda: self.inference_on_context_initialization,
        )  # fmt: skip
        # What applications read: every reply (``ReplyRecord``), every switch
        # (``handover.records``), caller audio accounting (``audio_counters``: sent, held,
        # dropped, replayed frames), function calls (``tools.calls``), the reply playout cushion
        # (``output_cushion``, None when ``LiveOptions.output_cushion_ms`` is off).
        self.replies: list[ReplyRecord] = call.replies.replies
        self.audio_counters: AudioCounters = call.link.counters
        self.output_cushion = call.replies.cushion
        self.history, self.caller, self.video = call.history, call.caller, call.video
        self.tools, self.handover, self.guard, self.changes = call.tools, call.switcher, call.watchdog, call.changes
        self.caller.paused = start_audio_paused
        self.video.paused = start_video_paused
        private.register_events(self, ("on_session_started", "on_session_ended", "on_switch", "on_reply_finished"))

    # -- Pipecat plumbing --------------------------------------------------------------------

    def can_generate_metrics(self) -> bool:
        """Usage and TTFB metrics are reported."""
        return True

    def service_metadata_frame(self) -> LLMServiceMetadataFrame:
        """A realtime service that announces the caller's turns itself (server VAD); in
        local-VAD mode the pipeline's own strategies drive the turns."""
        strategies = None if self.manual_turns else ExternalUserTurnStrategies()
        return LLMServiceMetadataFrame(service_name=self.name, is_realtime_service=True, user_turn_strategies=strategies)

    @property
    def manual_turns(self) -> bool:
        """Local-VAD mode: the pipeline's VAD drives ``activityStart`` / ``activityEnd``."""
        return local_vad(self._settings)

    def set_audio_input_paused(self, paused: bool) -> None:
        """Stop (or resume) sending caller audio; paused frames are dropped, not held."""
        self.caller.paused = paused

    def set_video_input_paused(self, paused: bool) -> None:
        """Stop (or resume) sending images."""
        self.video.paused = paused

    def _service_tools(self):
        return self.session_setup.tools

    def set_tools(self, tools) -> None:
        """Replace the service's own tools (a ``ToolsSchema``, schemas, or Gemini dicts)."""
        self.session_setup.set_tools(tools)

    def _replace_tools(self, tools, sync_handlers: bool) -> None:
        self.set_tools(tools)
        if sync_handlers:
            private.sync_tool_handlers(self, tools)

    def _set_instruction(self, text: str) -> None:
        self._settings.system_instruction = text
        private.set_base_instruction(self, text)

    def non_blocking_functions(self) -> set[str]:
        """Functions registered with ``cancel_on_interruption=False`` (Pipecat's async tools)."""
        return private.non_blocking_functions(self)

    @property
    def profile(self) -> ModelProfile:
        """The profile of the current model (or the pinned one)."""
        return self.profile_for_model(str(self._settings.model))

    def profile_for_model(self, model: str) -> ModelProfile:
        """The profile that governs ``model`` (the pinned one, when given)."""
        return self.session_setup.profile_for_model(model)

    def _client_for_sessions(self) -> Client:
        if self._client is None:
            self._client = api_key_client(self._api_key, self._http_options, compression=self.options.websocket_compression)
        return self._client

    def warn_once(self, key: str, message: str) -> None:
        """Log ``message`` once per call."""
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(f"{self}: {message}")

    # -- what applications read ----------------------------------------------------------------

    @property
    def context(self) -> LLMContext | None:
        """The pipeline's LLM context, once an ``LLMContextFrame`` has arrived."""
        return self.changes.context

    @property
    def session(self) -> LiveSession | None:
        """The session the call is on now."""
        return self.call.link.session

    @property
    def responding(self) -> bool:
        """Whether a reply is being played."""
        return self.call.replies.responding

    @property
    def audio_out_frames(self) -> int:
        """Bot audio frames pushed so far."""
        return self.call.replies.audio_out_frames

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, frame: StartFrame):
        """Open the first session in the background; caller audio is held until it is ready."""
        await super().start(frame)
        self.clock.start()
        await self.call.start()

    async def stop(self, frame: EndFrame):
        """Hang up: close every session with 1000."""
        await super().stop(frame)
        await self.call.hang_up()

    async def cancel(self, frame: CancelFrame):
        """Cancel: close every session with 1000 without waiting for anything else."""
        await super().cancel(frame)
        await self.call.hang_up()

    async def cleanup(self):
        """Release the sessions at teardown."""
        await super().cleanup()
        await self.call.hang_up()

    # -- frames in ---------------------------------------------------------------------------

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Route pipeline frames to the Live session; re-push what is not consumed."""
        if isinstance(frame, EndFrame):
            await self.call.let_the_last_reply_finish()
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            # Most frames a call sees (tens a second): straight to the caller's path, none of
            # the checks below applies to them.
            await self.call.take_audio(frame)
            if direction != FrameDirection.DOWNSTREAM or self.options.forward_caller_audio:
                await self.push_frame(frame, direction)
            return
        consumed = isinstance(frame, (PersonaUpdateFrame, LLMContextFrame, LLMSetToolsFrame))
        await self.call.take(frame, preroll_from_vad=self._preroll_override is None)
        unserved = unserved_warning(frame) if direction == FrameDirection.DOWNSTREAM else None
        if unserved is not None:
            self.warn_once(type(frame).__name__, unserved)
        if not consumed:
            await self.push_frame(frame, direction)

    async def _update_settings(self, delta) -> dict[str, Any]:
        changed = await super()._update_settings(delta)
        normalize_language(self._settings)
        flags = needs_switch(changed) if self.call.link.session is not None and changed else None
        if flags is not None:
            await self.request_switch("settings", **flags)
        return changed

    async def request_switch(self, reason: str, label: str | None = None, **flags) -> None:
        """Ask the switcher to move (or update) the call; see :class:`~.protocol.switch_plan.SwitchRequest`."""
        await self.call.request_switch(reason, label=label, **flags)

    async def _report_ttfb(self, start_time: float) -> None:
        await self.start_ttfb_metrics(start_time=start_time)
        await self.stop_ttfb_metrics()

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        """Push a frame; a function result on its way downstream is also sent to the model."""
        if direction == FrameDirection.DOWNSTREAM:
            if isinstance(frame, FunctionCallResultFrame):
                await self.tools.on_result(frame)
            elif isinstance(frame, FunctionCallCancelFrame):
                await self.tools.on_cancel_frame(frame)
        if private.audio_passes_llm_layers(self, frame):
            # Audio straight to Pipecat's pushing (the LLM layers would pass it unchanged).
            await FrameProcessor.push_frame(self, frame, direction)
            return
        await super().push_frame(frame, direction)
