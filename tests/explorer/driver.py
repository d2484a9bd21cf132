"""Run one timeline: a real pipeline (WAV caller -> service -> WAV out) against the emulator.

The call is time-scaled: the recording plays ``SPEED`` times faster than real time, the
emulator divides its own durations by the same factor, and the service's timers (stall
watchdog, quiet-input end, retry backoff) are its defaults divided by it too, so a 20 s call
takes about 5 s and every part of it keeps its proportions.

What the run leaves is an :class:`~.observation.Observation`: the emulator's own records (with
the call-clock time each reply and tool call first appeared on the wire, sampled every few
ms), the pipeline's errors, the service's replies and switches, the report it would write, and
what was still open or running after the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import soundfile as sf
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import EndFrame, Frame, InputAudioRawFrame, LLMSetToolsFrame, LLMUpdateSettingsFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker, ProcessorUnusablePolicy
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair, LLMUserAggregatorParams
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from gemini_live_emulator.model.conversation import persona_label
from pipecat_gemini_live import AudioResampler, GeminiLiveLLMService, LiveOptions, PersonaUpdateFrame, RetryPolicy
from pipecat_gemini_live.apps.report import CallReporter, caller_segments
from pipecat_gemini_live.apps.transports.wav import WavAudio, WavTransport

from ..conftest import build_call, speech
from .observation import RATE_BYTES, HeardReply, Observation, ToolCall, WireReply
from .timeline import PERSONAS, UTTERANCES, Timeline

SPEED = 4.0
CALL_TIMEOUT_S = 60.0  # wall seconds; a call that has not ended by then is itself a failure
CLOSE_WAIT_S = 3.0  # wall seconds the connections get to close after the pipeline ends
DURATIONS = {name: len(speech(name)) / 16000 for name in UTTERANCES}
WEATHER = FunctionSchema(name="get_weather", description="The weather in a city", properties={}, required=[])


def scaled_options(speed: float) -> tuple[LiveOptions, RetryPolicy]:
    """The service's own defaults with every wall-clock duration divided by ``speed``, except
    the quiet-input end: a busy machine delays frames by a few hundred ms, which must not read
    as a muted mic (it would end the caller's turn mid-sentence)."""
    base, retry = LiveOptions(), RetryPolicy()
    opts = base.model_copy(
        update={
            "stall_timeout_s": base.stall_timeout_s / speed if base.stall_timeout_s else None,
            "finish_reply_timeout_s": base.finish_reply_timeout_s / speed,
            # Floored: a loopback TLS connect and setup on a busy machine take a good part of it.
            "connect_timeout_s": max(2.0, base.connect_timeout_s / speed),
        }
    )
    timed = {k: v / speed for k, v in retry.model_dump().items() if k.endswith("_s")}
    return opts, retry.model_copy(update=timed)


class MicGate(FrameProcessor):
    """Drops caller frames in given windows (seconds of call time): a muted mic, no frames at all."""

    def __init__(self, clock, windows: list[tuple[float, float]], **kwargs):
        super().__init__(**kwargs)
        self._clock, self._windows = clock, windows
        self.dropped = 0
        self.passed = 0  # frames let through while the call was on (before any hang-up)
        self.counting = True

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            now = self._clock.now()
            if any(a <= now < b for a, b in self._windows):
                self.dropped += 1
                return
            self.passed += self.counting
        await self.push_frame(frame, direction)


def audio_starts(records, clock) -> dict[int, float]:
    """When each connection took its first caller audio (``realtimeInput`` audio), in call
    time, by record index. A record keeps its last few thousand messages: for a longer one
    this is later than it was."""
    starts = {}
    for rec in records:
        first = next((t for t, kind in list(rec.messages) if kind == "audio"), None)
        if first is not None:
            starts[rec.index] = clock.at(rec.opened_at + first)
    return starts


def audio_windows(records, starts: dict[int, float], clock, end_s: float) -> list[tuple[float, float]]:
    """When each connection took caller audio, in call time: from its first audio (``starts``,
    from :func:`audio_starts`) to its close (or the call's end). A window that starts later
    than it did only widens the outage the audio check allows."""
    return [
        (starts[rec.index], end_s if rec.closed_at is None else min(clock.at(rec.closed_at), end_s))
        for rec in records
        if rec.index in starts
    ]


class WireWatch:
    """Samples the emulator's records and stamps when each reply and tool call first appeared.

    The emulator stamps both itself (``Reply.started_at``, a tool call's ``at``), on its own
    thread: sampling from the call's event loop would stamp them as late as a loaded machine
    runs that loop (a full test suite on two cores: 100-150 ms wall, about half a second of
    call time at 4x, which put a reply's playback before its arrival).
    """

    def __init__(self, emu: LiveEmulator, clock):
        self.emu, self.clock = emu, clock
        self.reply_at: dict[tuple[int, int], float] = {}
        self.tool_at: dict[str, float] = {}

    def sample(self) -> None:
        if self.clock.t0 is None:
            return  # the call clock starts with the first caller frame; nothing is on the wire yet
        now = self.clock.now()
        for rec in list(self.emu.records):
            for j, reply in enumerate(list(rec.replies)):
                stamp = getattr(reply, "started_at", None)
                self.reply_at.setdefault((rec.index, j), now if stamp is None else self.clock.at(stamp))
            for call in list(rec.tool_calls):
                stamp = call.get("at")
                self.tool_at.setdefault(call["id"], now if stamp is None else self.clock.at(stamp))

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.004)


def recording(tl: Timeline, path: Path) -> Path:
    parts: list = []
    for gap, name in tl.speech:
        parts += [gap, name]
    parts.append(tl.tail)
    return build_call(path, parts)


def heard_utterances(wav: Path, mutes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Speech segments as the server can hear them: the recording less the muted windows."""
    audio, rate = sf.read(str(wav), dtype="int16", always_2d=True)
    for a, b in mutes:
        audio[int(a * rate) : int(b * rate)] = 0
    return caller_segments(WavAudio(wav, audio, rate, "PCM_16"))


def service_tasks(service: GeminiLiveLLMService) -> list[str]:
    """Tasks of the service still running (Pipecat's task manager, and any raw asyncio task
    whose coroutine lives in the package)."""
    names = []
    with contextlib.suppress(Exception):
        for task in service.task_manager.current_tasks():
            if not task.done() and service.name in task.get_name():
                names.append(task.get_name())
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if not task.done() and code is not None and "pipecat_gemini_live" in code.co_filename:
            if task.get_name() not in names:
                names.append(f"{task.get_name()} ({code.co_name})")
    return names


LAG_PROBE_S = 0.05


async def _probe_lag(worst: list[float]) -> None:
    """Keep in ``worst[0]`` the longest the event loop (or the whole process, on a machine
    starved of CPU) woke late from a short sleep, wall seconds."""
    while True:
        t = time.monotonic()
        await asyncio.sleep(LAG_PROBE_S)
        worst[0] = max(worst[0], time.monotonic() - t - LAG_PROBE_S)


async def run_timeline(tl: Timeline, workdir: Path, *, speed: float = SPEED) -> Observation:
    """Play ``tl`` through a real pipeline and collect what happened (see module docs)."""
    workdir.mkdir(parents=True, exist_ok=True)
    wav = recording(tl, workdir / "caller.wav")
    spans = tl.utterance_spans(DURATIONS)
    hangup = tl.hangup(spans)
    hangup_s = tl.event_time(hangup, spans) if hangup else None
    mutes = [(tl.event_time(e, spans), tl.event_time(e, spans) + e.arg) for e in tl.events if e.kind == "mute"]
    scenario = [f"{t}:get_weather" for t in tl.tool_turns]
    config = EmulatorConfig(
        think_ms=100,
        pace=tl.pace,
        time_scale=speed,
        faults=list(tl.faults),
        scenario=scenario,
        lifetime_s=tl.lifetime[0] if tl.lifetime else None,
        goaway_before_s=tl.lifetime[1] if tl.lifetime else 50.0,
    )
    options, retry = scaled_options(speed)
    personas: list[tuple[float, str]] = [(0.0, persona_label(PERSONAS[0]))]
    errors: list[tuple[float, str, bool]] = []
    hung_up_at: list[float] = []
    max_lag = [0.0]
    async with LiveEmulator(config) as emu:
        # Pipecat's end-of-call silence, as a device transport writes it (a file needs none, but
        # it once passed for an answer in the report: test_regressions.py).
        transport = WavTransport(wav, workdir / "bot.wav", speed=speed, tail_quiet_s=1.0 / speed + 0.3, end_silence_s=2)
        service = GeminiLiveLLMService(
            api_key=emu.api_key,
            http_options=emu.http_options(),
            model=tl.model,
            system_instruction=PERSONAS[0],
            tools=ToolsSchema(standard_tools=[WEATHER]),
            options=options,
            retry=retry,
        )

        async def get_weather(params: FunctionCallParams):
            await asyncio.sleep(tl.tool_delay / speed)
            await params.result_callback({"city": "Paris", "temp_c": 21})

        service.register_function("get_weather", get_weather)
        reporter = CallReporter(transport, service, tl.model, "emulator")
        gate = MicGate(transport.clock, mutes)
        # Shaped like Pipecat's examples: context aggregators around the service (they send the
        # context back and forth as the conversation goes, which the service must take in stride).
        user, assistant = LLMContextAggregatorPair(
            LLMContext(), user_params=LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies())
        )
        pipeline = Pipeline([transport.input(), gate, AudioResampler(), user, service, transport.output(), assistant])
        # A service that can no longer work (every connect refused) ends the call, as the main
        # job and the Twilio bot have it. Pipecat's default policy keeps the pipeline running
        # (an app may switch to another service), so the choice is the app's, not the service's.
        worker = PipelineWorker(
            pipeline, params=PipelineParams(), idle_timeout_secs=None, enable_rtvi=False,
            processor_unusable_policy=ProcessorUnusablePolicy.END,
        )  # fmt: skip
        watch = WireWatch(emu, transport.clock)

        @worker.event_handler("on_pipeline_error")
        async def _on_error(_worker, frame):
            ending = bool(getattr(frame, "fatal", False)) or not service.is_usable
            errors.append((transport.clock.now(), str(frame.error), ending))
            reporter.on_error(frame.error)

        async def at(when: float, action):
            while transport.clock.t0 is None:
                await asyncio.sleep(0.002)
            await asyncio.sleep(max(0.0, transport.clock.t0 + when / speed - time.monotonic()))
            await action()

        def action_for(ev):
            if ev.kind == "persona":
                text = PERSONAS[int(ev.arg)]

                async def persona():
                    personas.append((transport.clock.now(), persona_label(text)))
                    await worker.queue_frame(PersonaUpdateFrame(system_instruction=text))

                return persona
            if ev.kind == "tools":
                tools = ToolsSchema(standard_tools=[WEATHER] if ev.arg else [])
                return lambda: worker.queue_frame(LLMSetToolsFrame(tools=tools))
            if ev.kind == "settings":
                delta = GeminiLiveLLMService.Settings(temperature=0.1)
                return lambda: worker.queue_frame(LLMUpdateSettingsFrame(delta=delta))
            if ev.kind in ("end", "cancel"):

                async def hang_up(kind=ev.kind):
                    hung_up_at.append(transport.clock.now())
                    gate.counting = False  # what the caller says after hanging up is not owed
                    if kind == "end":
                        await worker.queue_frame(EndFrame())
                    else:
                        await worker.cancel(reason="explorer hang-up")

                return hang_up
            return None  # mute: the gate does it

        scheduled: list[asyncio.Task] = []
        for ev in tl.events:
            act = action_for(ev)
            if ev.kind in ("end", "cancel") and ev is not hangup:
                continue
            if act is not None:
                scheduled.append(asyncio.create_task(at(tl.event_time(ev, spans), act)))
        watcher = asyncio.create_task(watch.run())
        lag = asyncio.create_task(_probe_lag(max_lag))
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        timed_out = False
        try:
            await asyncio.wait_for(runner.run(), CALL_TIMEOUT_S)
        except asyncio.TimeoutError:
            timed_out = True
        finally:
            for task in scheduled:
                task.cancel()
        end_s = transport.clock.now()
        leftover = service_tasks(service)
        deadline = time.monotonic() + CLOSE_WAIT_S
        while time.monotonic() < deadline and (not all(r.closed for r in emu.records) or service_tasks(service)):
            await asyncio.sleep(0.02)
        watch.sample()
        watcher.cancel()
        lag.cancel()
        leftover_late = service_tasks(service)
        records = list(emu.records)
        open_after_wait = [r.index for r in records if not r.closed]
        audio_from = audio_starts(records, transport.clock)
        windows = audio_windows(records, audio_from, transport.clock, end_s)
        report = reporter.build()
        heard = [
            HeardReply(r.session_index, transport.clock.at(r.started_at), r.text, r.interrupted, r.goes_on)
            for r in service.replies
        ]

    replies = [
        WireReply(
            session=rec.index,
            index=j,
            at_s=watch.reply_at.get((rec.index, j), end_s),
            text=r.text,
            persona=r.persona,
            interrupted=r.interrupted,
            audio_s=r.audio_s,
        )
        for rec in records
        for j, r in enumerate(rec.replies)
    ]
    replies.sort(key=lambda r: (r.at_s, r.session, r.index))
    tool_calls = [
        ToolCall(session=rec.index, id=c["id"], name=c["name"], at_s=watch.tool_at.get(c["id"], end_s))
        for rec in records
        for c in rec.tool_calls
    ]
    counters = service.audio_counters
    return Observation(
        timeline=tl,
        utterances=heard_utterances(wav, mutes),
        personas=personas,
        wire_replies=replies,
        tool_calls=tool_calls,
        records=records,
        end_s=end_s,
        hangup_s=hung_up_at[0] if hung_up_at else hangup_s if hangup_s is not None and hangup_s < end_s else None,
        errors=errors,
        timed_out=timed_out,
        open_after_wait=open_after_wait,
        leftover_tasks=leftover_late,
        leftover_tasks_at_end=leftover,
        pushed_s=gate.passed * 0.02,
        received_s=sum(r.audio_bytes for r in records) / RATE_BYTES,
        replayed_s=counters.replayed * 0.02,
        dropped_frames=counters.dropped,
        held_at_end=len(service.caller.hold),
        max_held_s=options.max_held_audio_s,
        audio_windows=windows,
        audio_from=audio_from,
        report_turns=report["turns"],
        heard=heard,
        switches=list(service.handover.records),
        speed=speed,
        max_loop_lag_s=max_lag[0],
    )

