"""The playout cushion's effect: underruns and added latency, cushion on vs off, slow delivery.

    .venv/bin/python -m bench.cushion [--repeats 3]     # or: make bench-cushion

The Live server sometimes streams a reply slower than it plays. The emulator's ``slow`` pacing
does that (0.85 x real time, with a 0.3 s pause every 2 s of audio, :mod:`gemini_live_emulator.
pacing`). Per repeat, calls of the same recording (real speech, three caller turns) run side by
side, each on an emulator of its own with that pacing: one without a cushion, and one with
``LiveOptions(output_cushion_ms=...)`` for each size in :data:`CUSHIONS_MS`. The output
transport (the WAV transport, which plays in real time like a socket transport) records when
each chunk started playing, so what the caller would hear is measured outside the cushion's
own estimate:

- underruns: silences of 5 ms or more inside a reply (the reply being the audio between the end
  of a caller turn and the start of the next), per minute of reply audio, and the seconds of
  such silence per minute;
- reply latency: caller speech end -> first bot audio played; the cushion's cost is its median
  minus the median without a cushion (and the service's own ``added_latency_s``).

Writes ``bench/cushion.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

from loguru import logger
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.workers.runner import WorkerRunner

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live import AudioResampler, GeminiLiveLLMService, LiveOptions
from pipecat_gemini_live.apps.report import bot_segments, caller_segments
from pipecat_gemini_live.apps.transports.wav import WavTransport, load_wav

ROOT = Path(__file__).resolve().parent.parent
CALLER = ROOT / "pipelines/audio/caller_3turns_16k.wav"
MODEL = "gemini-3.8-live"
PACING = "slow"
CUSHIONS_MS = (1000.0, 3000.0)
TAIL_S = 8.0  # the call ends this long after the caller's audio and the bot's last word
GAP_S = 0.005  # a silence this long inside a reply is an underrun the caller hears


def reply_windows(caller: list[tuple[float, float]], end_s: float) -> list[tuple[float, float]]:
    """Where each reply may play: from a caller turn's end to the next turn's start (call times, s)."""
    ends = [e for _, e in caller]
    starts = [s for s, _ in caller[1:]] + [end_s]
    return list(zip(ends, starts, strict=True))


def measure_call(writes: list[tuple[float, float]], windows: list[tuple[float, float]]) -> dict:
    """Underruns, silence inside replies, reply audio and latencies of one call (seconds)."""
    underruns, audio_s, silent_s, latencies = 0, 0.0, 0.0, []
    for lo, hi in windows:
        inside = [w for w in writes if lo <= w[0] < hi]
        if not inside:
            continue
        latencies.append(inside[0][0] - lo)
        audio_s += sum(b - a for a, b in inside)
        spans = bot_segments(inside, gap_s=GAP_S)
        underruns += len(spans) - 1
        silent_s += (inside[-1][1] - inside[0][0]) - sum(b - a for a, b in inside)
    return {"underruns": underruns, "reply_audio_s": audio_s, "silent_s": silent_s, "latencies_s": latencies}


async def one_call(cushion_ms: float | None, out: Path) -> dict:
    """One call against its own slow-paced emulator; its output spans and the cushion's record."""
    async with LiveEmulator(EmulatorConfig(think_ms=200, pacing=PACING, asr=False)) as emu:
        transport = WavTransport(CALLER, out, tail_quiet_s=TAIL_S)
        service = GeminiLiveLLMService(
            api_key=emu.api_key,
            http_options=emu.http_options(),
            model=MODEL,
            system_instruction="You are a helpful assistant.",
            options=LiveOptions(output_cushion_ms=cushion_ms),
        )
        worker = PipelineWorker(
            Pipeline([transport.input(), AudioResampler(), service, transport.output()]),
            idle_timeout_secs=None,
            enable_rtvi=False,
        )
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await runner.run()
        cushion = service.output_cushion
        return {
            "writes": list(transport.output().writes),
            "added_latency_s": list(cushion.added_latency_s) if cushion is not None else [],
            "cushion_underruns_seen": cushion.underruns if cushion is not None else None,
        }


def _stat(values: list[float], digits: int = 1) -> dict:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


async def measure(repeats: int = 3, cushions_ms: tuple[float, ...] = CUSHIONS_MS, say=print) -> dict:
    """Per repeat, a call without the cushion and one per cushion size, at once; figures per mode."""
    caller_audio = load_wav(CALLER)
    caller = caller_segments(caller_audio)
    windows = reply_windows(caller, caller_audio.duration_s + TAIL_S)
    modes: dict[str, float | None] = {"off": None, **{f"on_{c:g}ms": c for c in cushions_ms}}
    per: dict[str, list[dict]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            got = await asyncio.gather(*(one_call(c, Path(tmp) / f"{m}{r}.wav") for m, c in modes.items()))
            for mode, g in zip(modes, got, strict=True):
                m = measure_call(g["writes"], windows)
                m["added_latency_s"] = g["added_latency_s"]
                per[mode].append(m)
                say(
                    f"repeat {r + 1}/{repeats} {mode:10s}: {m['underruns']} underruns, {m['silent_s']:.2f} s silent in "
                    f"{m['reply_audio_s']:.1f} s of replies, latency per reply "
                    f"{[round(x * 1000) for x in m['latencies_s']]} ms"
                )
    result: dict = {
        "pacing": PACING,
        "model": MODEL,
        "repeats": repeats,
        "gap_ms": GAP_S * 1000,
        "replies_per_call": len(windows),
        "modes": {},
    }
    off = per["off"]
    for mode, runs in per.items():
        lat_ms = [1000 * statistics.median(m["latencies_s"]) for m in runs if m["latencies_s"]]
        result["modes"][mode] = {
            "cushion_ms": modes[mode],
            "underruns_per_min": _stat([60.0 * m["underruns"] / m["reply_audio_s"] for m in runs if m["reply_audio_s"]]),
            "silent_s_per_min": _stat([60.0 * m["silent_s"] / m["reply_audio_s"] for m in runs if m["reply_audio_s"]], 2),
            "reply_latency_ms": _stat(lat_ms),
            # Per repeat: this mode's median reply latency minus the same repeat's without a cushion.
            "added_latency_ms": _stat(
                [
                    1000 * (statistics.median(a["latencies_s"]) - statistics.median(b["latencies_s"]))
                    for a, b in zip(runs, off, strict=True)
                    if a["latencies_s"] and b["latencies_s"]
                ]
            ),
            "replies": sum(len(m["latencies_s"]) for m in runs),
            "reply_audio_s": round(sum(m["reply_audio_s"] for m in runs), 1),
            "cushion_waits_ms": [round(1000 * x) for m in runs for x in m["added_latency_s"]],
        }
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", type=Path, default=ROOT / "bench/cushion.json")
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    result = asyncio.run(measure(args.repeats))
    for mode, m in result["modes"].items():
        u, g, lat, a = m["underruns_per_min"], m["silent_s_per_min"], m["reply_latency_ms"], m["added_latency_ms"]
        print(
            f"{mode:10s}: underruns per minute of reply {u['median']} [{u['min']}-{u['max']}], silent "
            f"{g['median']} [{g['min']}-{g['max']}] s per minute, reply latency {lat['median']} "
            f"[{lat['min']}-{lat['max']}] ms, added {a['median']} [{a['min']}-{a['max']}] ms"
        )
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"result: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
