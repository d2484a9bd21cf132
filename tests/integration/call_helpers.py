"""Run a WAV call through a real pipeline in a test, with frame logs around the service."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from pipecat.frames.frames import Frame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live import AudioResampler, GeminiLiveLLMService
from pipecat_gemini_live.apps.transports.wav import WavTransport


class FrameLog(FrameProcessor):
    """Records every frame that passes, in both directions, and passes it on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.down: list[Frame] = []
        self.up: list[Frame] = []
        self.timed: list[tuple[float, Frame]] = []  # (time.monotonic(), frame), downstream

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            self.down.append(frame)
            self.timed.append((time.monotonic(), frame))
        else:
            self.up.append(frame)
        await self.push_frame(frame, direction)

    def of(self, cls, direction=FrameDirection.DOWNSTREAM):
        frames = self.down if direction == FrameDirection.DOWNSTREAM else self.up
        return [f for f in frames if isinstance(f, cls)]


@dataclass
class CallResult:
    service: GeminiLiveLLMService
    transport: WavTransport
    before: FrameLog
    after: FrameLog
    errors: list[str] = field(default_factory=list)


async def run_call(
    emulator,
    wav,
    out_wav,
    *,
    service: GeminiLiveLLMService | None = None,
    timeout_tail: float = 2.0,
    at: list[tuple[float, Frame]] | None = None,
    caller: list[FrameProcessor] | None = None,
    **service_kwargs,
) -> CallResult:
    """One call: WAV in -> resampler -> [caller] -> [before] -> service -> [after] -> WAV out.

    Args:
        at: Frames to queue into the pipeline at given call times (seconds).
        caller: Processors that shape the caller's 16 kHz audio before the service sees it
            (a test's caller who speaks in response to what the bot does).
    """
    transport = WavTransport(wav, out_wav, tail_quiet_s=timeout_tail)
    if service is None:
        service_kwargs.setdefault("api_key", emulator.api_key)
        service_kwargs.setdefault("http_options", emulator.http_options())
        service_kwargs.setdefault("model", "gemini-2.5-flash-native-audio-preview-09-2025")
        service = GeminiLiveLLMService(**service_kwargs)
    before, after = FrameLog(), FrameLog()
    pipeline = Pipeline([transport.input(), AudioResampler(), *(caller or []), before, service, after, transport.output()])
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
        idle_timeout_secs=None,
        enable_rtvi=False,
    )
    result = CallResult(service, transport, before, after)

    @worker.event_handler("on_pipeline_error")
    async def _on_error(_worker, frame):
        result.errors.append(frame.error)

    scheduled: list[asyncio.Task] = []

    async def queue_at(when: float, frame: Frame):
        while transport.clock.t0 is None:
            await asyncio.sleep(0.005)
        await asyncio.sleep(max(0.0, when - transport.clock.now()))
        await worker.queue_frame(frame)

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker, _frame):
        for when, frame in at or []:
            scheduled.append(asyncio.create_task(queue_at(when, frame)))

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    try:
        await runner.run()
    finally:
        for task in scheduled:
            task.cancel()
    return result
