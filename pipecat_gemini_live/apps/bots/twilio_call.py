"""One Twilio call's pipeline, for the Twilio bot's own app and for Pipecat's runner alike.

::

    FastAPIWebsocketTransport(EdgeTwilioSerializer: mu-law -> 16 kHz, grouped frames)
        -> [PersonaKeypad: * + digit picks a persona] -> user aggregator -> GeminiLiveLLMService -> OutputResampler(24 -> 8 kHz)
        -> transport.output() -> assistant aggregator

(the low-latency telephony path of :mod:`pipecat_gemini_live.telephony.audio`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker, ProcessorUnusablePolicy
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.transports.websocket.fastapi import FastAPIWebsocketTransport
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from ...service import GeminiLiveLLMService
from ...telephony.audio import TelephonyAudio
from ...telephony.twilio_calls import StreamStart
from .keypad import PersonaKeypad
from .personas import PersonaBook


@dataclass
class TwilioCall:
    """One admitted call's pieces (handed to ``on_call`` before the call runs)."""

    start: StreamStart
    transport: FastAPIWebsocketTransport
    serializer: FrameSerializer
    service: GeminiLiveLLMService
    processors: list
    worker: PipelineWorker
    keypad: PersonaKeypad | None = None


def build_twilio_call(
    websocket: Any,
    start: StreamStart,
    *,
    service_kwargs: dict,
    model: str,
    system_instruction: str,
    audio: TelephonyAudio,
    auth_token: str | None = None,
    twilio_api_base_url: str | None = None,
    wrap_serializer: Callable[[FrameSerializer], FrameSerializer] | None = None,
    personas: PersonaBook | None = None,
) -> TwilioCall:
    """Build one call on an accepted media-stream WebSocket whose ``start`` has been read.

    Args:
        websocket: The Starlette/FastAPI ``WebSocket``.
        start: The stream's validated ``start``.
        service_kwargs: ``api_key`` and ``http_options`` for the service (Gemini or an emulator).
        model: Live model name.
        system_instruction: The bot's persona.
        audio: The telephony audio path.
        auth_token: Twilio auth token: with the call's SIDs, the bot hangs up through Twilio's
            REST API when it ends a call itself.
        twilio_api_base_url: Twilio REST API root for that hang-up (None: Twilio's own).
        wrap_serializer: Wraps the serializer (a trace tap, in benchmarks).
        personas: The personas the caller may switch to with ``*`` and a digit
            (:mod:`.keypad`); None: no switching, every key reaches the model.
    """
    hang_up = bool(auth_token and start.account_sid and start.call_sid)
    serializer: FrameSerializer = audio.serializer(
        stream_sid=start.stream_sid,
        call_sid=start.call_sid,
        account_sid=start.account_sid,
        auth_token=auth_token if hang_up else None,
        base_url=twilio_api_base_url,
        params=audio.serializer_params(auto_hang_up=hang_up),
    )
    if wrap_serializer is not None:
        serializer = wrap_serializer(serializer)
    transport = FastAPIWebsocketTransport(websocket, audio.transport_params(serializer))
    service = GeminiLiveLLMService(
        **service_kwargs, model=model, system_instruction=system_instruction, options=audio.live_options()
    )
    user, assistant = LLMContextAggregatorPair(
        LLMContext(),
        # The Live API detects turns itself; the default strategies would load a local
        # smart-turn model (tens of ms and ~10 MiB per call) that a realtime service never uses.
        user_params=LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies()),
    )
    processors = audio.pipeline_processors(transport, service, user=user, assistant=assistant)
    keypad = None
    if personas is not None:
        keypad = PersonaKeypad(personas)
        processors.insert(1, keypad)  # right after transport.input()

        @service.event_handler("on_switch")
        async def _on_switch(_service, record):
            if record.reason == "persona":
                persona = personas.by_instruction(record.system_instruction)
                name = persona.name if persona is not None else None
                if record.ok:
                    logger.info(f"twilio-bot: call {start.call_sid} is now persona {name!r}")
                else:
                    logger.warning(f"twilio-bot: call {start.call_sid}: persona switch failed: {record.error}")
    worker = PipelineWorker(
        Pipeline(processors),
        params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
        idle_timeout_secs=None,
        enable_rtvi=False,
        # Pipecat's default turn-tracking observer sees every frame of the call and nothing
        # here reads it: several % of a call's CPU for no one.
        enable_turn_tracking=False,
        # A service that can no longer answer (key refused, unknown model) ends the call,
        # which hangs it up through Twilio's API, rather than leaving the caller in silence.
        processor_unusable_policy=ProcessorUnusablePolicy.END,
    )
    return TwilioCall(start, transport, serializer, service, processors, worker, keypad)


async def run_twilio_call(call: TwilioCall, *, handle_sigint: bool = False) -> None:
    """Run a built call until it ends (the caller hangs up, or the bot ends it)."""

    @call.transport.event_handler("on_client_disconnected")
    async def _gone(_transport, _ws):
        await call.worker.cancel()

    logger.info(f"twilio-bot: call {call.start.call_sid} streaming ({call.start.stream_sid})")
    try:
        runner = WorkerRunner(handle_sigint=handle_sigint)
        await runner.add_workers(call.worker)
        await runner.run()
    finally:
        logger.info(f"twilio-bot: call {call.start.call_sid} ended")
