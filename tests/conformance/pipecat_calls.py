"""One call through a Pipecat pipeline, the same for Pipecat's built-in Gemini Live service and ours.

transport.input() (a WAV of real speech) -> AudioResampler -> user aggregator -> service ->
transport.output() -> assistant aggregator, as a bot would run it; an ``LLMRunFrame`` starts
the conversation (the built-in service takes no caller audio before a context arrives).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipecat.frames.frames import LLMRunFrame, TTSAudioRawFrame, TTSTextFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import AudioResampler
from pipecat_gemini_live.apps.transports.wav import WavTransport


class Tap(FrameProcessor):
    """Counts the bot's audio and collects its spoken text on the way to the output."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.audio_bytes = 0
        self.text = ""

    async def process_frame(self, frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame):
            self.audio_bytes += len(frame.audio)
        elif isinstance(frame, TTSTextFrame):
            self.text += frame.text
        await self.push_frame(frame, direction)


@dataclass
class ServiceCall:
    tap: Tap
    errors: list[str] = field(default_factory=list)


async def run_service_call(service, wav, out_wav, *, tail_quiet_s: float = 1.5) -> ServiceCall:
    """Play ``wav`` as the caller into ``service``; return what came out."""
    transport = WavTransport(wav, out_wav, tail_quiet_s=tail_quiet_s)
    user, assistant = LLMContextAggregatorPair(
        LLMContext(),
        # The Live API detects turns itself: no local turn model.
        user_params=LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies()),
    )
    tap = Tap()
    pipeline = Pipeline([transport.input(), AudioResampler(), user, service, tap, transport.output(), assistant])
    worker = PipelineWorker(pipeline, params=PipelineParams(), idle_timeout_secs=None, enable_rtvi=False)
    call = ServiceCall(tap)

    @worker.event_handler("on_pipeline_error")
    async def _on_error(_worker, frame):
        call.errors.append(frame.error)

    await worker.queue_frames([LLMRunFrame()])
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await runner.run()
    return call
