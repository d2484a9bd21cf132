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
from pipecat.frames.frames import EndWorkerFrame, LLMRunFrame, LLMUpdateSettingsFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker, ProcessorUnusablePolicy
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.runner.types import RunnerArguments
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
    "twilio": lambda: FastAPIWebsocketParams(audio_in_enabled=True, audio_out_enabled=True),
    "webrtc": lambda: TransportParams(audio_in_enabled=True, audio_out_enabled=True),
}

_emulator = None


async def live_endpoint() -> dict:
    """``api_key`` and ``http_options``: Gemini with a key, else one emulator per process."""
    global _emulator
    key = os.environ.get("GOOGLE_API_KEY")
    if key:
        return {"api_key": key}
    if _emulator is None:
        from gemini_live_emulator import EmulatorConfig, LiveEmulator

        _emulator = await LiveEmulator(EmulatorConfig(think_ms=200)).start()
        logger.info(f"Live API emulator at {_emulator.base_url}")
    return {"api_key": _emulator.api_key, "http_options": _emulator.http_options()}


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
    llm = GeminiLiveLLMService(**await live_endpoint(), settings=settings, tools=tools)
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
