"""One call through the same pipeline for either service: ours or Pipecat's built-in.

    WavInputTransport (a recorded caller, paced in real time) -> AudioResampler (16 kHz)
        -> user aggregator -> service -> WavOutputTransport (24 kHz) -> assistant aggregator

The two services differ only in the service slot; an ``LLMRunFrame`` starts every call (the
built-in service takes no caller audio before a context arrives; ours ignores an empty one).
The transports record how well real time was kept:

- the input transport, how late each 20 ms caller frame was pushed against its schedule
  (``input_lateness``: an event loop too busy to wake on time shows here first);
- the output transport, each underrun inside a reply (``underruns``: a chunk that started
  playing later than the previous one ended, while the bot was mid-reply).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from pipecat.frames.frames import Frame, LLMRunFrame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies

from bench.emulator_process import Endpoint
from pipecat_gemini_live import AudioResampler
from pipecat_gemini_live.call.frame_batcher import CallerFrameBatcher
from pipecat_gemini_live.apps.transports.wav import (
    CallClock,
    WavAudio,
    WavInputTransport,
    WavOutputTransport,
)

SERVICES = ("ours", "builtin")
# The floor: the same call with no service (nothing answers), and with a processor that only
# re-pushes every frame where the service sits (what one more pipeline stage costs).
FLOORS = ("floor", "passthrough")
KINDS = SERVICES + FLOORS
LABELS = {
    "ours": "pipecat-gemini-live (ours)",
    "builtin": "Pipecat 1.14 built-in",
    "floor": "floor: no service",
    "passthrough": "floor: pass-through stage",
}
MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"
INSTRUCTION = "You are a helpful assistant."
# A gap between two bot chunks shorter than this is an underrun inside a reply; a longer one is
# the pause between replies (never shorter than the emulator's silence plus think time).
REPLY_GAP_S = 0.6
# The output transport writes a chunk when the previous one has played, so every chunk is a
# hair late; an underrun is a chunk later than one 20 ms frame.
UNDERRUN_S = 0.020


def make_service(kind: str, endpoint: Endpoint, *, model: str = MODEL, instruction: str = INSTRUCTION, **kwargs):
    """A Gemini Live service pointed at ``endpoint``.

    Args:
        kind: ``"ours"`` (:class:`pipecat_gemini_live.GeminiLiveLLMService`) or ``"builtin"``
            (``pipecat.services.google.gemini_live.llm.GeminiLiveLLMService``).
        endpoint: The emulator.
        model: Live model name.
        instruction: System instruction.
        **kwargs: More constructor arguments of that service.

    Raises:
        ValueError: For an unknown ``kind``.
    """
    if kind == "builtin":
        from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService as BuiltIn

        return BuiltIn(
            api_key=endpoint.api_key,
            http_options=endpoint.http_options(),
            system_instruction=instruction,
            settings=BuiltIn.Settings(model=model),
            **kwargs,
        )
    if kind == "ours":
        from pipecat_gemini_live import GeminiLiveLLMService as Ours

        return Ours(
            api_key=endpoint.api_key,
            http_options=endpoint.http_options(),
            model=model,
            system_instruction=instruction,
            **kwargs,
        )
    raise ValueError(f"unknown service {kind!r}; one of {', '.join(SERVICES)}")


class PassThrough(FrameProcessor):
    """A pipeline stage that does nothing but re-push every frame (the floor's stand-in service)."""

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Pass ``frame`` on."""
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)


class PacedInput(WavInputTransport):
    """A WAV caller that records how late each frame was pushed.

    Attributes:
        lateness: ``(scheduled monotonic time, seconds late)`` per frame.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lateness: list[tuple[float, float]] = []

    async def _sleep_until(self, when: float) -> None:  # type: ignore[override]
        await WavInputTransport._sleep_until(when)
        self.lateness.append((when, max(0.0, time.monotonic() - when)))


class UnderrunOutput(WavOutputTransport):
    """A WAV bot side that records underruns inside replies.

    Attributes:
        chunks: ``time.monotonic()`` of every bot chunk written.
        underruns: ``(monotonic time, seconds of silence)`` for each chunk that started later
            than the previous one ended by more than :data:`UNDERRUN_S` and less than
            :data:`REPLY_GAP_S` (so mid-reply).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.chunks: list[float] = []
        self.underruns: list[tuple[float, float]] = []

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Note the chunk (and any underrun before it), then write it."""
        now = time.monotonic()
        if self.chunks:
            late = now - self._next_play
            if UNDERRUN_S < late < REPLY_GAP_S:
                self.underruns.append((now, late))
        self.chunks.append(now)
        return await super().write_audio_frame(frame)


@dataclass
class BenchCall:
    """One call's pieces."""

    kind: str
    worker: PipelineWorker
    service: object
    input: PacedInput
    resampler: AudioResampler
    output: UnderrunOutput
    clock: CallClock
    errors: list[str] = field(default_factory=list)


def build_call(
    kind: str,
    endpoint: Endpoint,
    audio: WavAudio,
    out_path: Path,
    *,
    resampler_quality: str = "polyphase",
    tail_quiet_s: float = 1.0,
    end_when_done: bool = True,
    service_kwargs: dict | None = None,
    turn_tracking: bool = False,
    batch_input: bool = True,
) -> BenchCall:
    """Build (not start) one call of ``kind`` playing ``audio`` as the caller.

    Args:
        kind: ``"ours"``, ``"builtin"``, ``"floor"`` (no service) or ``"passthrough"`` (a
            :class:`PassThrough` in the service's place).
        endpoint: The emulator.
        audio: The caller (any rate; resampled to 16 kHz before the service).
        out_path: Where the bot's side is written (24 kHz WAV).
        resampler_quality: Quality of the input resampler (``AudioResampler``).
        tail_quiet_s: Bot quiet time after the recording before hanging up, seconds.
        end_when_done: Hang up when the recording is over and the bot quiet.
        service_kwargs: More constructor arguments of the service.
        turn_tracking: Keep Pipecat's default ``TurnTrackingObserver`` (it sees every frame
            pushed; nothing in this pipeline reads it).
        batch_input: Group the caller's 20 ms frames where the Live API's timing allows
            (:class:`~pipecat_gemini_live.call.frame_batcher.CallerFrameBatcher`), as the
            Twilio bot's serializer does.
    """
    clock = CallClock()
    transport_in = PacedInput(
        audio,
        clock=clock,
        tail_quiet_s=tail_quiet_s,
        end_when_done=end_when_done,
        batcher=CallerFrameBatcher() if batch_input else None,
    )
    transport_out = UnderrunOutput(out_path, clock=clock, sample_rate=24000)
    resampler = AudioResampler(16000, quality=resampler_quality)
    if kind == "floor":
        service = None
    elif kind == "passthrough":
        service = PassThrough()
    else:
        service = make_service(kind, endpoint, **(service_kwargs or {}))
    user, assistant = LLMContextAggregatorPair(
        LLMContext(),
        # The Live API detects turns itself; the default strategies would load a local
        # smart-turn model that neither service uses.
        user_params=LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies()),
    )
    stages = [transport_in, resampler, user, service, transport_out, assistant]
    pipeline = Pipeline([p for p in stages if p is not None])
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(),
        idle_timeout_secs=None,
        enable_rtvi=False,
        enable_turn_tracking=turn_tracking,
    )
    call = BenchCall(kind, worker, service, transport_in, resampler, transport_out, clock)

    @worker.event_handler("on_pipeline_error")
    async def _on_error(_worker, frame):
        call.errors.append(str(frame.error))

    return call


async def start_frames(call: BenchCall) -> None:
    """Queue what starts a call (an ``LLMRunFrame``)."""
    await call.worker.queue_frames([LLMRunFrame()])
