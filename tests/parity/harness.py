"""One call, shaped the way Pipecat documents realtime pipelines, with either Gemini Live service.

    transport.input() -> AudioResampler -> [VAD] -> user aggregator -> [RTVI] -> service -> tap
        -> transport.output() -> assistant aggregator

The same function runs Pipecat 1.14's built-in ``GeminiLiveLLMService`` (``kind="builtin"``) and
ours (``kind="ours"``) against an emulator, so a parity test compares what reached the server
(the emulator's records), what the caller heard (the tap) and what the context holds afterwards.
Frames are queued the way an application would: at the pipeline's start (``on_start``, the
``on_client_connected`` pattern) and at call times (``at``), each either a frame or a coroutine
function taking the :class:`ParityCall` (to edit the context first, as examples do).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from pipecat.frames.frames import (
    ErrorFrame,
    Frame,
    LLMRunFrame,
    TTSAudioRawFrame,
    TTSTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService as BuiltInService
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from gemini_live_emulator import LiveEmulator
from pipecat_gemini_live import AudioResampler
from pipecat_gemini_live import GeminiLiveLLMService as OurService
from pipecat_gemini_live.apps.transports.wav import WavTransport

KINDS = ("builtin", "ours")
MODELS = {
    "2.5": "gemini-2.5-flash-native-audio-preview-12-2025",
    "3.1": "gemini-3.1-flash-live-preview",
    "3.8": "gemini-3.8-live",
    "unknown": "gemini-live-exp-preview",
}
PERSONA = "You are the parity persona."


class Tap(FrameProcessor):
    """What the caller hears: bot audio (with the call time of its first chunk) and words."""

    def __init__(self, clock, **kwargs):
        super().__init__(**kwargs)
        self.clock = clock
        self.audio_bytes = 0
        self.text = ""
        self.first_audio_s: float | None = None
        self.audio_times: list[float] = []

    async def process_frame(self, frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame):
            now = self.clock.now()
            if self.first_audio_s is None:
                self.first_audio_s = now
            self.audio_times.append(now)
            self.audio_bytes += len(frame.audio)
        elif isinstance(frame, TTSTextFrame):
            self.text += frame.text
        await self.push_frame(frame, direction)


Step = Frame | Callable[["ParityCall"], Awaitable[Any]]


@dataclass
class ParityCall:
    """One finished call: the service, its context, what the caller heard, errors pushed."""

    kind: str
    service: Any
    context: LLMContext
    worker: PipelineWorker
    tap: Tap
    transport: WavTransport
    errors: list[str] = field(default_factory=list)

    @property
    def heard(self) -> bool:
        return self.tap.audio_bytes > 0


def make_service(kind: str, emu: LiveEmulator, model: str, *, system_instruction: str | None = PERSONA, **kwargs):
    """Either service, configured the same way through its documented constructor."""
    if kind == "builtin":
        settings = kwargs.pop("settings", None) or BuiltInService.Settings()
        settings.model = model
        return BuiltInService(
            api_key=emu.api_key,
            http_options=emu.http_options(),
            system_instruction=system_instruction,
            settings=settings,
            **kwargs,
        )
    return OurService(
        api_key=emu.api_key,
        http_options=emu.http_options(),
        system_instruction=system_instruction,
        model=model,
        **kwargs,
    )


async def run_parity_call(
    kind: str,
    emu: LiveEmulator,
    model: str,
    wav,
    out_wav,
    *,
    messages: list | None = None,
    on_start: list[Step] = (),
    at: list[tuple[float, Step]] = (),
    aggregators: bool = True,
    local_vad: bool = False,
    rtvi: bool = False,
    tail_quiet_s: float = 1.5,
    max_tail_s: float = 20.0,
    functions: dict[str, Callable] | None = None,
    service: Any = None,
    timeout_s: float = 90.0,
    **service_kwargs,
) -> ParityCall:
    """Play ``wav`` as the caller into ``kind``'s service; return what happened.

    Args:
        messages: The LLMContext's opening messages.
        on_start: Steps run when the pipeline starts (``on_client_connected``).
        at: ``(call seconds, step)`` pairs.
        aggregators: Put Pipecat's user/assistant aggregator pair around the service.
        local_vad: A Silero VAD in the user aggregator (the pipeline's own turn detection).
        rtvi: Enable RTVI on the worker (its observer and processor).
        functions: ``name -> handler`` registered on the service.
    """
    transport = WavTransport(wav, out_wav, tail_quiet_s=tail_quiet_s)
    transport.input().max_tail_s = max_tail_s
    if service is None:
        service = make_service(kind, emu, model, **service_kwargs)
    for name, handler in (functions or {}).items():
        service.register_function(name, handler)
    context = LLMContext(messages=list(messages or []))
    tap = Tap(transport.clock)
    processors: list = [transport.input(), AudioResampler()]
    if aggregators:
        user_params = LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies())
        if local_vad:
            from pipecat.audio.vad.silero import SileroVADAnalyzer

            user_params = LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer())
        user, assistant = LLMContextAggregatorPair(context, user_params=user_params)
        processors += [user, service, tap, transport.output(), assistant]
    else:
        processors += [service, tap, transport.output()]
    worker = PipelineWorker(
        Pipeline(processors), params=PipelineParams(), idle_timeout_secs=None, enable_rtvi=rtvi
    )
    call = ParityCall(kind, service, context, worker, tap, transport)

    @worker.event_handler("on_pipeline_error")
    async def _on_error(_worker, frame: ErrorFrame):
        call.errors.append(frame.error)

    async def run_step(step: Step):
        if isinstance(step, Frame):
            await worker.queue_frame(step)
        else:
            await step(call)

    async def at_time(when: float, step: Step):
        while transport.clock.t0 is None:
            await asyncio.sleep(0.005)
        await asyncio.sleep(max(0.0, when - transport.clock.now()))
        await run_step(step)

    scheduled: list[asyncio.Task] = []

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker, _frame):
        for step in on_start:
            await run_step(step)
        for when, step in at:
            scheduled.append(asyncio.create_task(at_time(when, step)))

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    started = time.monotonic()
    try:
        await asyncio.wait_for(runner.run(), timeout_s)
    except asyncio.TimeoutError:
        logger.error(f"parity call ({kind}) did not end within {timeout_s}s")
        raise
    finally:
        for task in scheduled:
            task.cancel()
    logger.debug(f"parity call ({kind}) took {time.monotonic() - started:.1f}s")
    return call


def developer_greeting(text: str = "Please introduce yourself to the user.") -> Callable[[ParityCall], Awaitable[None]]:
    """Pipecat's documented opening: add a developer message, then run the LLM."""

    async def step(call: ParityCall) -> None:
        call.context.add_message({"role": "developer", "content": text})
        await call.worker.queue_frames([LLMRunFrame()])

    return step
