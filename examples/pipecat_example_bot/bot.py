"""A phone or browser bot written the way Pipecat's own Gemini Live examples are written.

Nothing in it is specific to pipecat-gemini-live except the import of the service, so it runs
with either service and shows that switching is an import change:

    python examples/pipecat_example_bot/bot.py -t twilio -x YOUR-PROXY-HOST   # Pipecat's dev runner
    python examples/pipecat_example_bot/bot.py -t webrtc                      # http://localhost:7860
    GEMINI_LIVE_SERVICE=builtin python examples/pipecat_example_bot/bot.py -t webrtc   # Pipecat's service

The pattern: the instruction in ``Settings``, an empty ``LLMContext`` with the aggregator pair
around the service, a ``developer`` message and ``LLMRunFrame`` when the client connects (the
bot speaks first), function tools (one ends the call after its goodbye by pushing
``EndWorkerFrame``), and a settings change ten seconds in. Without ``GOOGLE_API_KEY`` the Live
API is an emulator started in this process (``gemini_live_emulator``).
"""

from __future__ import annotations

import asyncio
import os

from loguru import logger
from pipecat.adapters.schemas.function_schema import FunctionSchema
from pipecat.adapters.schemas.tools_schema import ToolsSchema
from pipecat.evals.transport import EvalTransportParams
from pipecat.frames.frames import EndWorkerFrame, LLMRunFrame, LLMUpdateSettingsFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker, ProcessorUnusablePolicy
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.runner.types import RunnerArguments, WebSocketRunnerArguments
from pipecat.runner.utils import create_transport
from pipecat.services.llm_service import FunctionCallParams
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams
from pipecat.workers.runner import WorkerRunner

if os.environ.get("GEMINI_LIVE_SERVICE") == "builtin":
    from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService
else:
    from pipecat_gemini_live import GeminiLiveLLMService

INSTRUCTION = "You are a cheerful phone assistant. You can look up the weather and end the call."
SETTINGS_CHANGE_AFTER_S = float(os.environ.get("SETTINGS_CHANGE_AFTER_S", "10"))

transport_params = {
    # Pipecat's evals harness (`pipecat eval`, evals/ in this repository) connects to the
    # runner's /ws route and announces itself; create_transport then builds the eval transport.
    "eval": lambda: EvalTransportParams(audio_in_enabled=True, audio_out_enabled=True),
    "twilio": lambda: FastAPIWebsocketParams(audio_in_enabled=True, audio_out_enabled=True),
    "webrtc": lambda: TransportParams(audio_in_enabled=True, audio_out_enabled=True),
}

_emulator = None


async def live_endpoint(body: object = None) -> dict:
    """``api_key`` and ``http_options``: Gemini with a key, else one emulator per process.

    ``body`` is the operator's session body (the runner's ``--runner-body`` file, see
    :func:`operator_body`). Its optional ``emulator`` mapping holds ``EmulatorConfig`` fields for
    the embedded emulator, read when the process starts it: an eval scripts the emulated model's
    tool calls this way (``{"emulator": {"scenario": ["2:get_current_weather{...}"]}}``, see
    evals/manifest.yaml), since the emulated model understands no words. With a key it is ignored.

    Raises:
        pydantic.ValidationError: An ``emulator`` mapping that is not a valid ``EmulatorConfig``.
    """
    global _emulator
    key = os.environ.get("GOOGLE_API_KEY")
    settings = body.get("emulator") if isinstance(body, dict) else None
    if key:
        if settings:
            logger.warning("GOOGLE_API_KEY is set: the session body's emulator settings are ignored")
        return {"api_key": key}
    if _emulator is None:
        from gemini_live_emulator import EmulatorConfig, LiveEmulator

        config = EmulatorConfig.model_validate({"think_ms": 200, **(settings or {})})
        _emulator = await LiveEmulator(config).start()
        logger.info(f"Live API emulator at {_emulator.base_url}")
    return {"api_key": _emulator.api_key, "http_options": _emulator.http_options()}


def operator_body(runner_args: RunnerArguments) -> object:
    """The session body when the operator wrote it, else None.

    A WebSocket session's body is the runner's ``--runner-body`` file; a WebRTC or Daily
    ``/start`` body comes from the client, which must not configure the backend.
    """
    return runner_args.body if isinstance(runner_args, WebSocketRunnerArguments) else None


async def get_current_weather(params: FunctionCallParams):
    await params.result_callback({"conditions": "sunny", "temperature_c": 21, "location": params.arguments.get("location")})


async def end_conversation(params: FunctionCallParams):
    await params.result_callback({"ended": True})
    await params.llm.push_frame(EndWorkerFrame())


async def run_bot(transport, runner_args: RunnerArguments):
    tools = ToolsSchema(
        standard_tools=[
            FunctionSchema(
                name="get_current_weather",
                description="Get the current weather in a place.",
                properties={"location": {"type": "string", "description": "The city."}},
                required=["location"],
                handler=get_current_weather,
            ),
            FunctionSchema(
                name="end_conversation",
                description="End the call once you have said goodbye.",
                properties={},
                required=[],
                handler=end_conversation,
            ),
        ]
    )
    settings = GeminiLiveLLMService.Settings(system_instruction=INSTRUCTION, voice="Aoede")
    if os.environ.get("GEMINI_MODEL"):
        settings.model = os.environ["GEMINI_MODEL"]
    llm = GeminiLiveLLMService(**await live_endpoint(operator_body(runner_args)), settings=settings, tools=tools)
    context = LLMContext()
    user_aggregator, assistant_aggregator = LLMContextAggregatorPair(context)
    pipeline = Pipeline([transport.input(), user_aggregator, llm, transport.output(), assistant_aggregator])
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
        idle_timeout_secs=runner_args.pipeline_idle_timeout_secs,
        processor_unusable_policy=ProcessorUnusablePolicy.END,
    )
    runner = WorkerRunner(handle_sigint=runner_args.handle_sigint)
    await runner.add_workers(worker)

    @transport.event_handler("on_client_connected")
    async def on_client_connected(transport, client):
        logger.info("Client connected")
        context.add_message({"role": "developer", "content": "Please introduce yourself to the user."})
        await worker.queue_frames([LLMRunFrame()])
        await asyncio.sleep(SETTINGS_CHANGE_AFTER_S)
        await worker.queue_frame(LLMUpdateSettingsFrame(delta=GeminiLiveLLMService.Settings(temperature=0.1)))

    @transport.event_handler("on_client_disconnected")
    async def on_client_disconnected(transport, client):
        logger.info("Client disconnected")
        await runner.cancel()

    await runner.run()


async def bot(runner_args: RunnerArguments):
    """The entry Pipecat's runner (and Pipecat Cloud) calls for each connection."""
    transport = await create_transport(runner_args, transport_params)
    await run_bot(transport, runner_args)


if __name__ == "__main__":
    from pipecat.runner.run import main

    main()
