"""Calls per core of the Twilio bot, end to end: ours against Pipecat's stock setup.

    .venv/bin/python -m bench.telephony_cpu --rounds 3 --calls 4    # or: make bench-telephony-cpu

Two apps on loopback, each a FastAPI WebSocket transport with a Twilio serializer:

- ``twilio``: our bot (``pipelines/twilio_bot.py``: the telephony path of
  :class:`~pipecat_gemini_live.telephony.TelephonyAudio` and our service);
- ``stock``: Pipecat's stock Twilio setup with its built-in service (:mod:`bench.stock_twilio`);
- ``floor``: the same stock transport, serializer and aggregators with no service: what any
  Twilio bot on Pipecat pays before it answers (nothing answers its calls).

Each round places ``calls`` concurrent calls on each app in turn (the order rotating from round
to round), driven by streamdouble (a Twilio Media Streams simulator, :mod:`bench.twilio_callers`)
playing the same 8 kHz mu-law recording. The Live API emulator (with its speech synthesis) and
the callers run in processes of their own, as they would in a deployment, so this process's CPU
(``time.process_time()``) is the bots' alone: uvicorn, transport, serializer, pipeline,
resamplers and the Live API client, with no other thread contending for its GIL. CPU per
call-second = that CPU / the seconds of caller audio the calls streamed (the same conversation
for both bots); calls per core = 1000 / it. Latency is measured
by :mod:`bench.telephony` (one event loop, no GIL contention).

Writes ``bench/telephony_cpu.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

from loguru import logger

from bench.emulator_process import EmulatorProcess
from bench.harness import serve
from bench.stock_twilio import create_stock_app
from bench.telephony import INSTRUCTION, MODEL
from pipecat_gemini_live.telephony.audio import TelephonyAudio
from pipelines.twilio_bot import TwilioBotConfig, create_app

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("twilio", "stock", "floor")
LABELS = {
    "twilio": "our Twilio bot (our audio path, our service)",
    "stock": "Pipecat stock Twilio setup, built-in service",
    "floor": "floor: Pipecat's transport + serializer, no service",
}


async def round_of_calls(served, n: int, workers: list, timeout_s: float = 30.0, *, answered: bool = True) -> float:
    """``n`` concurrent calls from a caller process; returns once the bots' pipelines finished,
    with the seconds of caller audio streamed (the calls' length, the same for any bot)."""
    before = len(workers)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.twilio_callers", "--url", served.base_url, "--calls", str(n),
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"callers exited {proc.returncode}: {err.decode()[-400:]}")
    got = json.loads(lines[-1])
    if (answered and got["answered"] != n) or got["violations"]:
        raise RuntimeError(f"{n - got['answered']} of {n} calls unanswered; violations {got['violations']}")
    deadline = time.monotonic() + timeout_s
    while not all(w.has_finished() for w in workers[before:]):
        if time.monotonic() > deadline:
            raise TimeoutError("a bot pipeline did not finish after the caller hung up")
        await asyncio.sleep(0.05)
    return got["frames_sent"] * 0.020


def _stat(values: list[float], digits: int = 2) -> dict:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


async def measure(rounds: int = 3, calls: int = 4, say=print) -> dict:
    """Bot process CPU per call-second per path, per round; calls per core and their ratio."""
    workers: list = []
    per_round: dict[str, list[float]] = {p: [] for p in PATHS}
    walls: dict[str, list[float]] = {p: [] for p in PATHS}

    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        endpoint = emu.endpoint
        ours_app = create_app(
            TwilioBotConfig(audio=TelephonyAudio(), model=MODEL, system_instruction=INSTRUCTION),
            emulator=endpoint,
            on_call=lambda call: workers.append(call.worker),
        )
        stock_app = create_stock_app(endpoint, model=MODEL, instruction=INSTRUCTION, on_call=workers.append)
        floor_app = create_stock_app(endpoint, model=MODEL, instruction=INSTRUCTION, on_call=workers.append, service=False)
        async with serve(ours_app) as ours, serve(stock_app) as stock, serve(floor_app) as floor:
            served = {"twilio": ours, "stock": stock, "floor": floor}
            # Warm both up (imports, the first client), at once.
            await asyncio.gather(round_of_calls(ours, 1, workers), round_of_calls(stock, 1, workers))
            for r in range(rounds):
                for path in PATHS[r % 3 :] + PATHS[: r % 3]:
                    cpu0, wall0 = time.process_time(), time.monotonic()
                    call_s = await round_of_calls(served[path], calls, workers, answered=path != "floor")
                    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
                    # Per second of the conversation (caller audio streamed), not of wall time:
                    # a bot that keeps the line open longer after the caller's last turn would
                    # otherwise look cheaper per second.
                    ms = 1000 * cpu / call_s
                    per_round[path].append(ms)
                    walls[path].append(wall)
                    say(f"round {r + 1}/{rounds} {path:7s} {calls} calls: {ms:.1f} ms CPU per call-second (wall {wall:.1f} s, {call_s:.0f} call-s)")
    ratios = [s / t for t, s in zip(per_round["twilio"], per_round["stock"], strict=True)]
    # Each bot's CPU above the floor, per round (the service and its audio path).
    over = {
        p: [v - f for v, f in zip(per_round[p], per_round["floor"], strict=True)] for p in ("twilio", "stock")
    }
    return {
        "over_floor_ms": {p: _stat(v) for p, v in over.items()},
        "rounds": rounds,
        "calls": calls,
        "cpu_ms_per_call_s": {p: _stat(v) for p, v in per_round.items()},
        "calls_per_core": {p: round(1000 / statistics.median(v), 1) for p, v in per_round.items()},
        "calls_per_core_ratio": _stat(ratios, 3),
        "per_round": per_round,
        "round_wall_s": walls,
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
    for p, st in result["over_floor_ms"].items():
        print(f"{LABELS[p]} above the floor: {st['median']:.1f} [{st['min']:.1f}-{st['max']:.1f}] ms per call-second")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"result: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
