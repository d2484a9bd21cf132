"""Calls per core of the Twilio bot, end to end: ours against Pipecat's stock setup.

    .venv/bin/python -m bench.telephony_cpu --rounds 3 --calls 4    # or: make bench-telephony-cpu

Two apps on loopback, each a FastAPI WebSocket transport with a Twilio serializer:

- ``twilio``: our bot (``pipelines/twilio_bot.py``: the telephony path of
  :class:`~pipecat_gemini_live.telephony.TelephonyAudio` and our service);
- ``stock``: Pipecat's stock Twilio setup with its built-in service (:mod:`bench.stock_twilio`).

Each round places ``calls`` concurrent calls on each app in turn (the order rotating from round
to round), driven by streamdouble (a Twilio Media Streams simulator) playing the same 8 kHz
mu-law recording. The Live API emulator (with its speech synthesis) and streamdouble run on
threads and event loops of their own, so ``time.thread_time()`` of the main thread counts only
the bots: transport, serializer, pipeline, resamplers and the Live API client. CPU per
call-second = that CPU / (wall time x calls); calls per core = 1000 / it. Latency is measured
by :mod:`bench.telephony` (one event loop, no GIL contention).

Writes ``bench/telephony_cpu.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from loguru import logger
from streamdouble.session import SessionConfig

from bench.harness import place_call, serve, ulaw_frames
from bench.stock_twilio import create_stock_app
from bench.telephony import INSTRUCTION, MODEL, TWILIO_CALLER
from gemini_live_emulator import EmulatorConfig
from gemini_live_emulator.threaded import EmulatorThread
from pipecat_gemini_live.telephony import TelephonyAudio
from pipecat_gemini_live.transports.wav import load_wav
from pipelines.twilio_bot import TwilioBotConfig, create_app

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("twilio", "stock")
LABELS = {
    "twilio": "our Twilio bot (our audio path, our service)",
    "stock": "Pipecat stock Twilio setup, built-in service",
}


async def _calls(served, frames: list[bytes], n: int) -> list:
    config = SessionConfig(response_timeout_s=20.0, quiet_period_s=1.0)
    return await asyncio.gather(*(place_call(served, frames=frames, config=config) for _ in range(n)))


async def round_of_calls(served, frames: list[bytes], n: int, workers: list, timeout_s: float = 30.0) -> None:
    """``n`` concurrent calls from a simulator on its own thread; returns once the bots' pipelines finished."""
    before = len(workers)
    results = await asyncio.to_thread(asyncio.run, _calls(served, frames, n))
    bad = [r.violations for r in results if not r.audio_received or r.violations]
    if bad:
        raise RuntimeError(f"{len(bad)} of {n} calls were not answered cleanly: {bad[:2]}")
    deadline = time.monotonic() + timeout_s
    while not all(w.has_finished() for w in workers[before:]):
        if time.monotonic() > deadline:
            raise TimeoutError("a bot pipeline did not finish after the caller hung up")
        await asyncio.sleep(0.05)


def _stat(values: list[float], digits: int = 2) -> dict:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


async def measure(rounds: int = 3, calls: int = 4, say=print) -> dict:
    """Bot-thread CPU per call-second per path, per round; calls per core and their ratio."""
    frames = ulaw_frames(load_wav(TWILIO_CALLER))
    workers: list = []
    per_round: dict[str, list[float]] = {p: [] for p in PATHS}

    with EmulatorThread() as thread:
        emu = thread.start(EmulatorConfig(think_ms=200, default_silence_ms=500))
        ours_app = create_app(
            TwilioBotConfig(audio=TelephonyAudio(), model=MODEL, system_instruction=INSTRUCTION),
            emulator=emu,
            on_call=lambda call: workers.append(call.worker),
        )
        stock_app = create_stock_app(emu, model=MODEL, instruction=INSTRUCTION, on_call=workers.append)
        async with serve(ours_app) as ours, serve(stock_app) as stock:
            served = {"twilio": ours, "stock": stock}
            await round_of_calls(ours, frames, 1, workers)  # warm both up (imports, first client)
            await round_of_calls(stock, frames, 1, workers)
            for r in range(rounds):
                for path in PATHS[r % 2 :] + PATHS[: r % 2]:
                    cpu0, wall0 = time.thread_time(), time.monotonic()
                    await round_of_calls(served[path], frames, calls, workers)
                    cpu, wall = time.thread_time() - cpu0, time.monotonic() - wall0
                    ms = 1000 * cpu / (wall * calls)
                    per_round[path].append(ms)
                    say(f"round {r + 1}/{rounds} {path:7s} {calls} calls: {ms:.1f} ms CPU per call-second")
    ratios = [1000 / t / (1000 / s) for t, s in zip(per_round["twilio"], per_round["stock"], strict=True)]
    return {
        "rounds": rounds,
        "calls": calls,
        "cpu_ms_per_call_s": {p: _stat(v) for p, v in per_round.items()},
        "calls_per_core": {p: round(1000 / statistics.median(v), 1) for p, v in per_round.items()},
        "calls_per_core_ratio": _stat(ratios, 3),
        "per_round": per_round,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Calls per core of the Twilio bot: ours vs Pipecat's stock setup.")
    p.add_argument("--rounds", type=int, default=3, help="rounds (each: --calls calls per path)")
    p.add_argument("--calls", type=int, default=4, help="concurrent calls per path and round")
    p.add_argument("--json", type=Path, default=ROOT / "bench/telephony_cpu.json", help="where to write the result")
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    result = asyncio.run(measure(args.rounds, args.calls))
    print(f"\n{'path':48s} {'CPU ms per call-s (median [min-max])':>38s} {'calls per core':>15s}")
    for path in PATHS:
        s = result["cpu_ms_per_call_s"][path]
        print(f"{LABELS[path]:48s} {s['median']:>14.1f} [{s['min']:.1f}-{s['max']:.1f}]{'':>10s} {result['calls_per_core'][path]:>12.1f}")
    r = result["calls_per_core_ratio"]
    print(f"calls per core, ours / stock: {r['median']:.2f} [{r['min']:.2f}-{r['max']:.2f}]")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"result: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
