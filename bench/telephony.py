"""Telephony latency benchmark: the same recorded call through three audio paths, in one run.

    .venv/bin/python -m bench.telephony --rounds 3          # or: make bench-telephony

Paths, all on the same in-process Live API emulator (500 ms end-of-speech silence, 200 ms
think time, replies paced in real time) and the same service (ours):

- ``wideband``: the main job's pipeline, 16 kHz PCM in, 24 kHz out (WAV transports);
- ``twilio``: the Twilio bot (``pipelines/twilio_bot.py``) on our telephony path
  (:class:`~pipecat_gemini_live.telephony.audio.TelephonyAudio`), 8 kHz mu-law both ways;
- ``stock``: the same bot on Pipecat's stock Twilio setup (``TelephonyAudio.pipecat_stock()``:
  the serializer resamples to a 16 kHz pipeline, the output transport resamples 24 -> 8 kHz).

The Twilio paths are driven over a local WebSocket by streamdouble, a Twilio Media Streams
simulator, playing the 8 kHz mu-law twin of the wideband recording. Every call carries an
:class:`~pipecat_gemini_live.apps.latency.AudioPathTrace`; the report gives, per path, p50/p95 of
caller speech end -> first bot audio written to the transport, and the per-stage breakdown.
Rounds run the paths one after another, rotating their order, so drift on a shared machine
touches all three alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from loguru import logger
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.workers.runner import WorkerRunner
from streamdouble.session import SessionConfig

from bench.harness import place_call, serve, ulaw_frames
from pipecat_gemini_live import AudioResampler, GeminiLiveLLMService, OutputResampler
from gemini_live_emulator import EmulatorConfig
from pipecat_gemini_live.apps.latency import AudioPathTrace, TwilioWireTap, summarize, turn_latencies
from pipecat_gemini_live.apps.latency.emulator_tap import TracedLiveEmulator
from pipecat_gemini_live.apps.report import caller_segments
from pipecat_gemini_live.telephony.audio import TelephonyAudio
from pipecat_gemini_live.apps.transports.wav import (
    CallClock,
    WavInputTransport,
    WavOutputTransport,
    load_wav,
)
from pipelines.twilio_bot import TwilioBotConfig, TwilioCall, create_app

ROOT = Path(__file__).resolve().parent.parent
WIDEBAND_CALLER = ROOT / "pipelines/audio/caller_3turns_16k.wav"
TWILIO_CALLER = ROOT / "pipelines/audio/caller_3turns_8k_ulaw.wav"
MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"
INSTRUCTION = "You are a helpful assistant. Answer briefly and kindly."
PATHS = ("wideband", "twilio", "stock")
LABELS = {
    "wideband": "wideband 16k in / 24k out (ours)",
    "twilio": "Twilio 8k mu-law (ours)",
    "stock": "Twilio 8k, Pipecat stock audio path",
}


async def wideband_call(emu, caller: Path, trace: AudioPathTrace | None) -> None:
    """The main job's pipeline on a WAV caller (traced unless ``trace`` is None)."""
    clock = CallClock()
    source = load_wav(caller)
    transport_in = WavInputTransport(source, clock=clock, tail_quiet_s=1.0)
    with tempfile.TemporaryDirectory() as tmp:
        transport_out = WavOutputTransport(Path(tmp) / "bot.wav", clock=clock, sample_rate=24000)
        resampler = AudioResampler()
        service = GeminiLiveLLMService(
            api_key=emu.api_key,
            http_options=emu.http_options(),
            model=MODEL,
            system_instruction=INSTRUCTION,
        )
        user, assistant = _aggregators()
        if trace is not None:
            trace.tap_pipeline(
                input_transport=transport_in,
                input_resampler=resampler,
                service=service,
                output_transport=transport_out,
                input_is_wire=True,
            )
        pipeline = Pipeline([transport_in, resampler, user, service, transport_out, assistant])
        await _run(
            PipelineWorker(
                pipeline,
                params=PipelineParams(enable_metrics=True),
                idle_timeout_secs=None,
                enable_rtvi=False,
            )
        )


class TwilioBench:
    """The Twilio bot served on loopback, one app per audio path, tapped for tracing."""

    def __init__(self, emu: TracedLiveEmulator, frames: list[bytes]):
        self.emu = emu
        self.frames = frames
        self.trace: AudioPathTrace | None = None
        self.calls: list[TwilioCall] = []

    def app(self, audio: TelephonyAudio):
        """The bot on ``audio``, answering with the benchmark's emulator."""
        config = TwilioBotConfig(audio=audio, model=MODEL, system_instruction=INSTRUCTION)
        return create_app(
            config, emulator=self.emu, wrap_serializer=self._wrap, on_call=self._on_call
        )

    def _wrap(self, serializer):
        assert self.trace is not None
        return TwilioWireTap(serializer, self.trace)

    def _on_call(self, call: TwilioCall) -> None:
        assert self.trace is not None
        self.calls.append(call)
        procs = call.processors
        self.trace.tap_pipeline(
            input_transport=call.transport.input(),
            input_resampler=next((p for p in procs if isinstance(p, AudioResampler)), None),
            service=call.service,
            output_resampler=next((p for p in procs if isinstance(p, OutputResampler)), None),
            output_transport=call.transport.output(),
        )

    async def call(self, served, trace: AudioPathTrace, timeout_s: float = 30.0) -> None:
        """One call; returns once the bot's pipeline has finished too."""
        self.trace = trace
        before = len(self.calls)
        config = SessionConfig(response_timeout_s=20.0, quiet_period_s=1.0)
        result = await place_call(served, frames=self.frames, config=config)
        if result.violations:
            raise RuntimeError(f"protocol violations: {result.violations}")
        if len(self.calls) <= before:
            raise RuntimeError("the bot did not admit the call")
        worker = self.calls[-1].worker
        deadline = time.monotonic() + timeout_s
        while not worker.has_finished():
            if time.monotonic() > deadline:
                raise TimeoutError("the bot's pipeline did not finish after the caller hung up")
            await asyncio.sleep(0.05)


def _aggregators():
    return LLMContextAggregatorPair(
        LLMContext(),
        user_params=LLMUserAggregatorParams(user_turn_strategies=ExternalUserTurnStrategies()),
    )


async def _run(worker: PipelineWorker) -> None:
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await runner.run()


async def benchmark(
    rounds: int = 3,
    *,
    wideband_caller: Path = WIDEBAND_CALLER,
    twilio_caller: Path = TWILIO_CALLER,
    say=print,
) -> dict:
    """Run ``rounds`` rounds of the three paths and return the report (see :func:`report`)."""
    ends = {
        "wideband": [end for _, end in caller_segments(load_wav(wideband_caller))],
        "twilio": [end for _, end in caller_segments(load_wav(twilio_caller))],
    }
    ends["stock"] = ends["twilio"]
    turns: dict[str, list] = {p: [] for p in PATHS}
    config = EmulatorConfig(think_ms=200, default_silence_ms=500, pace=1.0)
    async with TracedLiveEmulator(config) as emu:
        bench = TwilioBench(emu, ulaw_frames(load_wav(twilio_caller)))
        async with (
            serve(bench.app(TelephonyAudio())) as ours,
            serve(bench.app(TelephonyAudio.pipecat_stock())) as stock,
        ):
            for r in range(rounds):
                order = PATHS[r % 3 :] + PATHS[: r % 3]
                for path in order:
                    trace = AudioPathTrace()
                    emu.trace = trace
                    if path == "wideband":
                        await wideband_call(emu, wideband_caller, trace)
                    else:
                        await bench.call(ours if path == "twilio" else stock, trace)
                    emu.trace = None
                    got = turn_latencies(
                        trace, ends[path], silence_s=config.default_silence_ms / 1000
                    )
                    turns[path] += got
                    shown = ", ".join(
                        f"{t.total_ms:.0f}" if t.total_ms is not None else "none" for t in got
                    )
                    say(f"round {r + 1}/{rounds} {path:9s} turn latencies (ms): {shown}")
    return report(turns)


def report(turns: dict[str, list]) -> dict:
    """Summaries per path and the comparison the issue asks for."""
    summaries = {path: summarize(t) for path, t in turns.items()}
    wide = summaries["wideband"]["total_ms"]["p50"]
    comparison = {}
    for path in ("twilio", "stock"):
        p50 = summaries[path]["total_ms"]["p50"]
        comparison[f"{path}_minus_wideband_p50_ms"] = (
            round(p50 - wide, 1) if None not in (p50, wide) else None
        )
    return {
        "paths": summaries,
        "comparison": comparison,
        "turns": {
            p: [
                {
                    "turn": t.index,
                    "total_ms": t.total_ms,
                    "legs_ms": t.legs_ms,
                    "stages_ms": t.stages_ms,
                }
                for t in ts
            ]
            for p, ts in turns.items()
        },
    }


def format_report(rep: dict) -> str:
    """The report as text tables."""
    s = rep["paths"]
    lines = ["", "caller speech end -> first bot audio written to the transport", ""]
    lines.append(
        f"{'path':36s} {'turns':>5s} {'p50 ms':>8s} {'p95 ms':>8s} {'p50 vs wideband':>16s}"
    )
    wide = s["wideband"]["total_ms"]["p50"]
    for path in PATHS:
        t = s[path]["total_ms"]
        diff = (
            ""
            if path == "wideband" or t["p50"] is None or wide is None
            else f"{t['p50'] - wide:+.1f}"
        )
        lines.append(
            f"{LABELS[path]:36s} {s[path]['answered']:>2d}/{s[path]['turns']:<2d} {_ms(t['p50'])} {_ms(t['p95'])} {diff:>16s}"
        )
    lines += [
        "",
        "where it goes, p50 ms (p95):",
        f"{'leg':18s}" + "".join(f"{p:>20s}" for p in PATHS),
    ]
    for leg in s["wideband"]["legs_ms"]:
        lines.append(f"{leg:18s}" + "".join(f"{_pp(s[p]['legs_ms'].get(leg)):>20s}" for p in PATHS))
    lines += ["", "per stage, p50 ms (p95):"]
    for path in PATHS:
        lines.append(f"  {LABELS[path]}")
        for name, stat in s[path]["stages_ms"].items():
            lines.append(f"    {name:36s} {_pp(stat):>18s}")
    return "\n".join(lines)


def _ms(v) -> str:
    return f"{v:8.1f}" if v is not None else f"{'-':>8s}"


def _pp(stat) -> str:
    if not stat or stat.get("p50") is None:
        return "-"
    return f"{stat['p50']:.1f} ({stat['p95']:.1f})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Telephony audio path latency: wideband vs Twilio (ours) vs Twilio (Pipecat stock)."
    )
    p.add_argument("--rounds", type=int, default=3, help="calls per path (3 caller turns each)")
    p.add_argument(
        "--json",
        type=Path,
        default=ROOT / "bench/telephony.json",
        help="where to write the report",
    )
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    rep = asyncio.run(benchmark(args.rounds))
    print(format_report(rep))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rep, indent=2) + "\n")
    print(f"\nreport: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
