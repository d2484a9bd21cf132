"""Many calls of one service in one process, and what they cost (one measurement).

    .venv/bin/python -m bench.load --service ours --calls 10 --endpoint '{"base_url": ...}'

Prints one JSON object (:func:`measure`'s result). Run by :mod:`bench.cost` in a fresh
process per service and call count, so that CPU and memory belong to those calls alone; the
emulator runs in a process of its own.

The calls start ``stagger_s`` apart (starting a call does synchronous work that the live calls
feel; a real bot admits calls at a rate too). The measurement window opens once every call has
started (plus a settling second) and closes when the first call's recording ends, so it holds
only calls in full swing, at spread-out points of the conversation.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from loguru import logger
from pipecat.workers.runner import WorkerRunner

from bench.emulator_process import Endpoint, process_cpu_s
from bench.rig import KINDS, REPLY_GAP_S, BenchCall, build_call, start_frames
from pipecat_gemini_live.apps.report import bot_segments, caller_segments
from pipecat_gemini_live.apps.transports.wav import WavAudio, load_wav

ROOT = Path(__file__).resolve().parent.parent
CALLER_8K = ROOT / "pipelines/audio/caller_3turns_8k_ulaw.wav"
# Real-time pacing breaks when more than 1% of the caller's frames are pushed over 100 ms late,
# or more than 1% of the bot's chunks start after an underrun (a gap of more than one 20 ms
# frame inside a reply: an audible click).
LATE_S = 0.100
LATE_SHARE = 0.01


def paced(run: dict) -> bool:
    """Whether a measurement kept real time (see :data:`LATE_S` and :data:`LATE_SHARE`)."""
    underrun_share = run["underruns"] / run["bot_chunks"] if run["bot_chunks"] else 0.0
    return run["input_late_share"] <= LATE_SHARE and underrun_share <= LATE_SHARE


def rss_mib() -> float:
    """Resident set size of this process, MiB (``/proc/self/statm``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _run(call: BenchCall) -> None:
    runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
    await start_frames(call)
    await runner.add_workers(call.worker)
    await runner.run()


def _share_over(values: list[float], bound: float) -> float:
    return sum(v > bound for v in values) / len(values) if values else 0.0


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def reply_latencies_ms(call: BenchCall, audio: WavAudio, until: float) -> list[float]:
    """Caller speech end -> first bot audio written, per turn answered before ``until``."""
    out = []
    spans = bot_segments(call.output.writes, gap_s=REPLY_GAP_S)
    limit_s = call.clock.at(until)
    for _start, end in caller_segments(audio):
        span = next((b for b in spans if b[0] >= end - 0.05), None)
        if span is not None and span[0] <= limit_s:
            out.append((span[0] - end) * 1000.0)
    return out


async def measure(
    kind: str,
    calls: int,
    endpoint: Endpoint,
    *,
    caller: Path = CALLER_8K,
    stagger_s: float | None = None,
    quality: str = "polyphase",
    emulator_pid: int | None = None,
    settle_s: float = 1.0,
    profile_top: int = 0,
    max_window_s: float | None = None,
    turn_tracking: bool = False,
    batch_input: bool = True,
    spread_s: float = 8.0,
) -> dict:
    """Run ``calls`` concurrent calls of ``kind`` and measure them in the window.

    Args:
        kind: One of :data:`bench.rig.KINDS` (a service, or a floor without one).
        calls: How many calls at once.
        endpoint: The emulator (in another process).
        caller: The caller recording every call plays (8 kHz mu-law: the Twilio shape).
        stagger_s: Time between call starts, seconds (default: 0.3, or ``spread_s`` over all).
        quality: Input resampler quality (``AudioResampler``).
        emulator_pid: The emulator's process id, to report its CPU over the window.
        settle_s: Time after the last start before the window opens, seconds.
        profile_top: When positive, profile the window (cProfile) and report this many
            functions with the most own time (the profiler slows the calls: read shares).
        max_window_s: Close the window after this long, seconds (None: when the first call's
            recording ends).
        turn_tracking: Keep Pipecat's default turn-tracking observer on every call.
        batch_input: Group caller frames at the input transport (see :func:`bench.rig.build_call`).
        spread_s: Longest time over which the calls start, seconds.

    Returns:
        ``{"service", "calls", "window_s", "cpu_s", "cpu_per_call_s", "rss_*_mib",
        "mib_per_call", "input_late_*", "underrun_*", "reply_ms", "paced", "errors", ...}``.
    """
    audio = load_wav(caller)
    stagger = stagger_s if stagger_s is not None else min(0.3, spread_s / max(1, calls))
    endpoint.http_options()  # built once, before the baseline
    gc.collect()
    rss0 = rss_mib()
    built: list[BenchCall] = []
    tasks: list[asyncio.Task] = []
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
        first_start = time.monotonic()
        for i in range(calls):
            call = build_call(
                kind,
                endpoint,
                audio,
                Path(tmp) / f"bot{i}.wav",
                resampler_quality=quality,
                end_when_done=False,
                turn_tracking=turn_tracking,
                batch_input=batch_input,
            )
            built.append(call)
            tasks.append(asyncio.create_task(_run(call)))
            if i + 1 < calls:
                await asyncio.sleep(max(0.0, first_start + (i + 1) * stagger - time.monotonic()))
        await asyncio.sleep(settle_s)
        profiler = cProfile.Profile(time.process_time) if profile_top > 0 else None  # CPU, not waiting
        if profiler is not None:
            profiler.enable()
        t0 = time.monotonic()
        cpu0 = time.process_time()
        emu0 = process_cpu_s(emulator_pid) if emulator_pid else None
        while built[0].clock.t0 is None:
            await asyncio.sleep(0.05)
        t_end = built[0].clock.t0 + audio.duration_s - 0.2
        if max_window_s is not None:
            t_end = min(t_end, t0 + max_window_s)
        rss_samples = []
        while time.monotonic() < t_end:
            rss_samples.append(rss_mib())
            await asyncio.sleep(min(0.5, max(0.0, t_end - time.monotonic())))
        t1 = time.monotonic()
        cpu1 = time.process_time()
        if profiler is not None:
            profiler.disable()
        emu1 = process_cpu_s(emulator_pid) if emulator_pid else None
        window = t1 - t0
        if window < 3.0:
            raise RuntimeError(f"measurement window of {window:.1f}s: the caller recording is too short for {calls} calls")
        late = [s for c in built for when, s in c.input.lateness if t0 <= when <= t1]
        chunks = sum(sum(t0 <= t <= t1 for t in c.output.chunks) for c in built)
        underruns = [s for c in built for at, s in c.output.underruns if t0 <= at <= t1]
        replies = [ms for c in built for ms in reply_latencies_ms(c, audio, t1)]
        errors = sorted({e for c in built for e in c.errors})
        for c in built:
            await c.worker.cancel()
        await asyncio.wait(tasks, timeout=15)
    rss = statistics.median(rss_samples) if rss_samples else rss_mib()
    late_share = _share_over(late, LATE_S)
    underrun_share = len(underruns) / chunks if chunks else 0.0
    cpu = cpu1 - cpu0
    result = {
        "service": kind,
        "calls": calls,
        "quality": quality,
        "turn_tracking": turn_tracking,
        "batch_input": batch_input,
        "stagger_s": round(stagger, 3),
        "window_s": round(window, 2),
        "cpu_s": round(cpu, 3),
        "cpu_per_call_s": round(cpu / (window * calls), 5),
        "process_cores": round(cpu / window, 3),
        "emulator_cores": round((emu1 - emu0) / window, 3) if emu0 is not None else None,
        "rss_baseline_mib": round(rss0, 1),
        "rss_mib": round(rss, 1),
        "mib_per_call": round((rss - rss0) / calls, 2),
        "input_frames": len(late),
        "input_late_p50_ms": round(1000 * _pct(late, 50), 1) if late else None,
        "input_late_p99_ms": round(1000 * _pct(late, 99), 1) if late else None,
        "input_late_max_ms": round(1000 * max(late), 1) if late else None,
        "input_late_share": round(late_share, 4),
        "bot_chunks": chunks,
        "underruns": len(underruns),
        "underrun_max_ms": round(1000 * max(underruns), 1) if underruns else 0.0,
        "underrun_share": round(underrun_share, 4),
        "reply_ms": {
            "n": len(replies),
            "p50": round(_pct(replies, 50), 1) if replies else None,
            "p95": round(_pct(replies, 95), 1) if replies else None,
        },
        "errors": errors[:5],
        "profile": _top(profiler, profile_top) if profiler is not None else None,
    }
    result["paced"] = paced(result)
    return result


def _top(profiler: cProfile.Profile, n: int) -> list[dict]:
    """The ``n`` functions with the most own time, as shares of the profiled total."""
    stats = pstats.Stats(profiler)
    entries = [(key, value) for key, value in stats.stats.items() if "epoll" not in key[2]]
    total = sum(value[2] for _key, value in entries) or 1.0
    rows = []
    for (path, line, name), (_cc, _nc, tottime, cumtime, _callers) in entries:
        where = f"{Path(path).name}:{line}" if path != "~" else "builtin"
        rows.append({"function": f"{name} ({where})", "tottime_share": tottime / total, "cumtime_share": cumtime / total})
    rows.sort(key=lambda r: r["tottime_share"], reverse=True)
    return [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows[:n]]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="N concurrent calls of one service; prints what they cost as JSON.")
    p.add_argument("--service", choices=KINDS, required=True)
    p.add_argument("--calls", type=int, required=True)
    p.add_argument("--endpoint", required=True, help="the emulator, as JSON (base_url, ca_file, api_key)")
    p.add_argument("--emulator-pid", type=int)
    p.add_argument("--caller", type=Path, default=CALLER_8K)
    p.add_argument("--stagger-s", type=float)
    p.add_argument("--quality", default="polyphase", help="input resampler quality")
    p.add_argument("--profile-top", type=int, default=0, help="profile the window; report this many functions")
    p.add_argument("--max-window-s", type=float, help="longest measurement window, seconds")
    p.add_argument("--spread-s", type=float, default=8.0, help="longest time over which calls start, seconds")
    p.add_argument("--turn-tracking", action="store_true", help="with Pipecat's turn-tracking observer")
    p.add_argument("--no-batching", action="store_true", help="push every 20 ms caller frame")
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    result = asyncio.run(
        measure(
            args.service,
            args.calls,
            Endpoint.from_json(args.endpoint),
            caller=args.caller,
            stagger_s=args.stagger_s,
            quality=args.quality,
            emulator_pid=args.emulator_pid,
            profile_top=args.profile_top,
            max_window_s=args.max_window_s,
            turn_tracking=args.turn_tracking,
            batch_input=not args.no_batching,
            spread_s=args.spread_s,
        )
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
