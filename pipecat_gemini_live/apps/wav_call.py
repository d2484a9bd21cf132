"""A whole call from a WAV file: the main job's engine, also used by tests and benchmarks.

The pipeline is the product's shape (docs/design.md)::

    WavInputTransport -> AudioResampler(16 kHz) -> user aggregator -> GeminiLiveLLMService
        -> WavOutputTransport -> assistant aggregator

against the embedded Live API emulator, or against Gemini when an API key is given and the
emulator is not forced.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from dataclasses import dataclass, field
from pathlib import Path

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker, ProcessorUnusablePolicy
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.services.llm_service import FunctionCallParams
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from ..frames import PersonaUpdateFrame
from .report import CallReporter
from ..audio.resampler import AudioResampler
from ..service import GeminiLiveLLMService
from .transports.wav import WavTransport, check_writable
from ..audio.rates import LIVE_OUTPUT_RATE

DEFAULT_INSTRUCTION = "You are a helpful assistant. Answer briefly and kindly."


@dataclass
class PersonaChange:
    """``--persona-at SECONDS=INSTRUCTION``: send a persona update at that call time."""

    at_s: float
    system_instruction: str
    language: str | None = None
    voice: str | None = None

    @classmethod
    def parse(cls, text: str) -> "PersonaChange":
        """``"12.5=You are a pirate."`` or ``"20@ko-KR=You answer in Korean."``.

        The optional ``@LANG`` also changes the speech language (a BCP-47 code).

        Raises:
            ValueError: Without ``=``, or with a bad number.
        """
        head, sep, instruction = text.partition("=")
        at, _, language = head.partition("@")
        if not sep or not instruction.strip():
            raise ValueError(f"expected SECONDS[@LANG]=INSTRUCTION, got {text!r}")
        try:
            at_s = float(at)
        except ValueError:
            raise ValueError(f"expected SECONDS[@LANG]=INSTRUCTION, got {text!r}") from None
        return cls(at_s=at_s, system_instruction=instruction.strip(), language=language.strip() or None)


@dataclass
class WavCallOptions:
    """One call's settings.

    Attributes:
        input: Caller recording (WAV: PCM16 or G.711, any rate, mono or stereo).
        output: Where the bot's side of the call is written (WAV).
        report: Where the JSON report is written (None: not written).
        model: Live model name.
        system_instruction: The first persona.
        think_ms: The emulator's delay before replying, ms.
        force_emulator: Use the emulator even when ``api_key`` is set.
        api_key: Google AI API key (Gemini backend when set and not forced to the emulator).
        stereo: Output caller left, bot right.
        output_sample_rate: Rate of the output WAV, Hz.
        persona_changes: Persona updates to send during the call.
        speed: Input playback speed (1.0 real time).
        emulator: Extra emulator settings (``EmulatorConfig`` fields: ``lifetime_s``,
            ``goaway_before_s``, ``faults``, ``scenario``, ``time_scale``...).
        tools_demo: Register two example functions (``get_weather``, ``get_time``); on the
            emulator, the model calls one when the caller's words ask for it ("what is the
            weather in Chicago" -> ``get_weather(city="Chicago")``).
    """

    input: Path
    output: Path
    report: Path | None = None
    model: str = "gemini-2.5-flash-native-audio-preview-09-2025"
    system_instruction: str = DEFAULT_INSTRUCTION
    think_ms: int = 200
    force_emulator: bool = False
    api_key: str | None = None
    stereo: bool = False
    output_sample_rate: int = LIVE_OUTPUT_RATE
    persona_changes: list[PersonaChange] = field(default_factory=list)
    speed: float = 1.0
    emulator: dict = field(default_factory=dict)
    tools_demo: bool = False

    @property
    def backend(self) -> str:
        """``"gemini"`` or ``"emulator"``."""
        return "gemini" if self.api_key and not self.force_emulator else "emulator"


ReplyPrinter = Callable[[str], None]


async def run_wav_call(
    opts: WavCallOptions,
    *,
    emulator: LiveEmulator | None = None,
    say: ReplyPrinter | None = print,
    service_kwargs: dict | None = None,
) -> dict:
    """Run one call and return its report.

    Args:
        opts: The call.
        emulator: A running emulator to use (one is started and stopped here otherwise,
            unless the backend is Gemini).
        say: Where the per-turn summary lines go (None: silent).
        service_kwargs: Extra keyword arguments for the service (tests: ``options``, ``profile``).

    Raises:
        WavInputError: The input file cannot be played (raised before anything starts).
        WavOutputError: The output WAV or the report cannot be written (checked before
            anything starts, so a call is never run for nothing).
    """
    check_writable(opts.output, "output")
    if opts.report is not None:
        check_writable(opts.report, "report")
    transport = WavTransport(
        opts.input, opts.output, output_sample_rate=opts.output_sample_rate, stereo=opts.stereo, speed=opts.speed,
        tail_quiet_s=3.0 / opts.speed,
    )
    own_emulator = None
    if opts.backend == "emulator" and emulator is None:
        settings = dict(opts.emulator)
        own_emulator = await LiveEmulator(EmulatorConfig(think_ms=opts.think_ms, **settings)).start()
        emulator = own_emulator
    try:
        if opts.backend == "emulator":
            assert emulator is not None
            api_key, http_options = emulator.api_key, emulator.http_options()
        else:
            api_key, http_options = opts.api_key, None
        kwargs = dict(service_kwargs or {})
        if opts.tools_demo:
            kwargs.setdefault("tools", demo_tools())
        service = GeminiLiveLLMService(
            api_key=api_key,
            http_options=http_options,
            model=opts.model,
            system_instruction=opts.system_instruction,
            **kwargs,
        )
        reporter = CallReporter(transport=transport, service=service, model=opts.model, backend=opts.backend)
        if say is not None:
            _announce_turns(service, reporter, say)
        context = LLMContext()
        user, assistant = LLMContextAggregatorPair(
            context,
            # The Live API detects turns itself; the default strategies would load a local
            # smart-turn model (tens of ms and ~10 MiB per call) that a realtime service never uses.
            user_params=LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies()),
        )
        pipeline = Pipeline([transport.input(), AudioResampler(), user, service, transport.output(), assistant])
        worker = PipelineWorker(
            pipeline,
            params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
            idle_timeout_secs=None,
            enable_rtvi=False,
            # A service that can no longer work (no session could be opened, a refusal) ends the
            # call at once, as a caller would hang up on a dead line.
            processor_unusable_policy=ProcessorUnusablePolicy.END,
        )

        @worker.event_handler("on_pipeline_error")
        async def _on_error(_worker, frame):
            reporter.on_error(frame.error)
            if say is not None:
                say(f"  ! error: {frame.error}")

        scheduled: list[asyncio.Task] = []

        @worker.event_handler("on_pipeline_started")
        async def _on_started(_worker, _frame):
            for change in opts.persona_changes:
                scheduled.append(asyncio.create_task(_persona_at(transport, worker, change)))

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        try:
            await runner.run()
        finally:
            for task in scheduled:
                task.cancel()
        transport.output().write_file()
        report = reporter.build()
        if opts.report is not None:
            reporter.write(opts.report)
        return report
    finally:
        if own_emulator is not None:
            await own_emulator.stop()


async def _persona_at(transport: WavTransport, worker: PipelineWorker, change: PersonaChange) -> None:
    while transport.clock.t0 is None:
        await asyncio.sleep(0.01)
    delay = (change.at_s - transport.clock.now()) / transport.clock.speed
    if delay > 0:
        await asyncio.sleep(delay)
    await worker.queue_frame(
        PersonaUpdateFrame(system_instruction=change.system_instruction, language=change.language, voice=change.voice)
    )


async def _get_weather(params: FunctionCallParams) -> None:
    # A stand-in for a weather API: a fixed report, a little latency.
    await asyncio.sleep(0.3)
    await params.result_callback({"city": params.arguments.get("city", "?"), "temp_c": 18, "sky": "clear"})


async def _get_time(params: FunctionCallParams) -> None:
    tz = params.arguments.get("timezone") or "UTC"
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        await params.result_callback({"error": f"unknown timezone {tz!r}"})
        return
    await params.result_callback({"timezone": tz, "time": now.strftime("%H:%M")})


def demo_tools() -> ToolsSchema:
    """Two example functions with their handlers (``FunctionSchema`` handlers auto-register)."""
    return ToolsSchema(
        standard_tools=[
            FunctionSchema(
                name="get_weather",
                description="Current weather in a city.",
                properties={"city": {"type": "string", "description": "City name"}},
                required=["city"],
                handler=_get_weather,
            ),
            FunctionSchema(
                name="get_time",
                description="Current time in an IANA timezone.",
                properties={"timezone": {"type": "string", "description": "e.g. Europe/Paris"}},
                required=["timezone"],
                handler=_get_time,
            ),
        ]
    )


def _announce_turns(service: GeminiLiveLLMService, reporter: CallReporter, say: ReplyPrinter) -> None:
    @service.event_handler("on_reply_finished")
    async def _reply(_svc, reply):
        turn = reporter.turn_for_reply(reply)
        started = reporter.clock(reply.started_at)
        if turn and turn["response_latency_ms"] is not None:
            head = (
                f"[{started:6.2f}s] turn {turn['index']}: caller stopped at {turn['user_speech_end_s']:.2f}s, "
                f"bot answered at {turn['bot_audio_start_s']:.2f}s ({turn['response_latency_ms']:.0f} ms)"
            )
        else:
            head = f"[{started:6.2f}s] bot reply {reply.index + 1}"
        cut = " [cut]" if reply.interrupted else ""
        say(f"{head} on session {reply.session_index}{cut}")
        say(f"          bot: {reply.text!r}")

    @service.event_handler("on_function_calls_started")
    async def _calls(_svc, calls):
        for call in calls:
            say(f"[{reporter.clock(time.monotonic()):6.2f}s] tool call: {call.function_name}({call.arguments})")

    @service.event_handler("on_switch")
    async def _switch(_svc, record):
        if record.reason == "start":
            return
        if record.ok:
            say(
                f"[{record.applied_s:6.2f}s] {record.reason}: {record.method} in {record.switch_gap_ms:.0f} ms, "
                f"{record.history_turns_carried} turns carried, {record.in_frames_held} caller frames held, "
                f"{record.in_frames_dropped} dropped"
            )
        else:
            say(f"[{record.at_s:6.2f}s] {record.reason} switch failed: {record.error}")


def api_key_from_env() -> str | None:
    """``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``) from the environment."""
    return os.environ.get("GOOGLE_API_KEY") or os.environ.get("GEMINI_API_KEY") or None
