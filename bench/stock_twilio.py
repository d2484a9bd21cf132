"""Pipecat's stock Twilio bot with its built-in Gemini Live service, for the telephony benchmarks.

What Pipecat 1.14's runner and examples set up for a Twilio call, nothing of ours in the audio
path: ``parse_telephony_websocket`` reads the stream's opening, Pipecat's own
``TwilioFrameSerializer`` decodes mu-law and resamples to the 16 kHz pipeline (soxr VHQ), the
output transport resamples 24 -> 8 kHz (soxr VHQ) in 40 ms chunks, Pipecat's
``GeminiLiveLLMService`` answers, and the worker runs with Pipecat's defaults (turn tracking on).
The webhook answers TwiML the way the project's harness expects (a ``<Stream>`` with a
``token`` parameter, which this bot does not check: it serves loopback benchmarks only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import Response
from pipecat.frames.frames import LLMRunFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.workers.runner import WorkerRunner
from twilio.twiml.voice_response import Connect, Stream, VoiceResponse


def create_stock_app(
    emu: Any,
    *,
    model: str,
    instruction: str,
    on_call: Callable[[PipelineWorker], None] | None = None,
    service: bool = True,
) -> FastAPI:
    """The stock bot as a FastAPI app answering with ``emu`` (an emulator: ``api_key``, ``http_options()``).

    Args:
        emu: The Live API emulator.
        model: Live model name.
        instruction: System instruction.
        on_call: Called with each call's worker before it runs.
        service: False for the floor: the same transport, serializer and aggregators with no
            service (nothing answers).
    """
    from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService

    app = FastAPI()

    @app.post("/twiml")
    async def twiml(request: Request) -> Response:
        url = str(request.url_for("media_stream")).replace("http://", "ws://", 1)
        answer = VoiceResponse()
        connect = Connect()
        stream = Stream(url=url)
        stream.parameter(name="token", value="stock")
        connect.append(stream)
        answer.append(connect)
        return Response(str(answer), media_type="application/xml")

    @app.websocket("/media-stream")
    async def media_stream(websocket: WebSocket) -> None:
        await websocket.accept()
        _kind, call = await parse_telephony_websocket(websocket)
        serializer = TwilioFrameSerializer(
            stream_sid=call["stream_id"],
            call_sid=call["call_id"],
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
        )
        transport = FastAPIWebsocketTransport(
            websocket,
            FastAPIWebsocketParams(audio_in_enabled=True, audio_out_enabled=True, add_wav_header=False, serializer=serializer),
        )
        llm = (
            GeminiLiveLLMService(
                api_key=emu.api_key,
                http_options=emu.http_options(),
                system_instruction=instruction,
                settings=GeminiLiveLLMService.Settings(model=model),
            )
            if service
            else None
        )
        user, assistant = LLMContextAggregatorPair(
            LLMContext(),
            # As in the project's bots: the Live API detects turns; no local smart-turn model.
            user_params=LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies()),
        )
        worker = PipelineWorker(
            Pipeline([p for p in (transport.input(), user, llm, transport.output(), assistant) if p is not None]),
            params=PipelineParams(
                audio_in_sample_rate=16000,
                audio_out_sample_rate=8000,
                enable_metrics=True,
                enable_usage_metrics=True,
            ),
            idle_timeout_secs=None,
            enable_rtvi=False,
        )

        @transport.event_handler("on_client_connected")
        async def _connected(_transport, _ws):
            # As Pipecat's examples do: the built-in service takes audio once a context arrives.
            await worker.queue_frames([LLMRunFrame()])

        @transport.event_handler("on_client_disconnected")
        async def _gone(_transport, _ws):
            await worker.cancel()

        if on_call is not None:
            on_call(worker)
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await runner.run()

    return app
