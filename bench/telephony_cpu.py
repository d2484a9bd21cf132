"""Calls per core of the Twilio bot, end to end: ours against Pipecat's stock setup.

    .venv/bin/python -m bench.telephony_cpu --rounds 3 --calls 4    # or: make bench-telephony-cpu

Apps on loopback, each a FastAPI WebSocket transport with a Twilio serializer:

- ``twilio``: our bot (``pipelines/twilio_bot.py``: the telephony path of
  :class:`~pipecat_gemini_live.telephony.TelephonyAudio` and our service);
- ``stock``: Pipecat's stock Twilio setup with its built-in service (:mod:`bench.stock_twilio`);
- ``floor``: the same stock transport, serializer and aggregators with no service: what any
  Twilio bot on Pipecat pays before it answers (nothing answers its calls).

Each round places ``calls`` concurrent calls on each app, driven by streamdouble (a Twilio Media
Streams simulator, :mod:`bench.twilio_callers`) playing the same 8 kHz mu-law recording. The Live
API emulator (with its speech synthesis) and the callers run in processes of their own, as they
would in a deployment. By default (:func:`measure_concurrent`) each app also runs in a process
of its own (:mod:`bench.twilio_app_process`) and every app's calls start at the same moment: on a
machine shared with other work, that load then falls on all apps in the same seconds; an app's
CPU is its process's user + system time from ``/proc``. ``--sequential`` (:func:`measure`) runs
the apps in this process, one app's calls at a time, the order rotating, with
``time.process_time()``. Either way the CPU is the bots' alone: uvicorn, transport, serializer,
pipeline, resamplers and the Live API client. CPU per call-second = that CPU / the seconds of
caller audio the calls streamed (the same conversation for every bot); calls per core = 1000 /
it. ``--paths`` may add our bot as it was before an optimization (:data:`BEFORE`), for its
before/after in the same run. Latency is measured by :mod:`bench.telephony` (one event loop,
no GIL contention).

Writes ``bench/telephony_cpu.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

from loguru import logger

import httpx

from bench.emulator_process import EmulatorProcess, process_cpu_s
from bench.harness import serve
from bench.stock_twilio import create_stock_app
from bench.telephony import INSTRUCTION, MODEL
from pipecat_gemini_live.telephony.audio import TelephonyAudio
from pipelines.twilio_bot import TwilioBotConfig, create_app

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("twilio", "stock", "floor")
# Our bot as it was before an optimization (``--paths twilio,before_40ms,stock``): each undoes
# one change, for its before/after figure in the same run.
BEFORE = {
    "before_40ms": TelephonyAudio(out_chunk_ms=20, lead_silence=False),
    "before_audio_end": TelephonyAudio(caller_audio_past_service=True),
}
# Our bot at another commit (``measure_concurrent(base_tree=...)``): the before/after of a round
# of changes to the service, in the same run.
BASE = "ours_base"
LABELS = {
    BASE: "our Twilio bot at the base commit (before)",
    "twilio": "our Twilio bot (our audio path, our service)",
    "stock": "Pipecat stock Twilio setup, built-in service",
    "floor": "floor: Pipecat's transport + serializer, no service",
    "before_40ms": "our Twilio bot with 20 ms output chunks (before)",
    "before_audio_end": "our Twilio bot, caller audio on past the service (before)",
}


async def place_calls(base_url: str, n: int, *, answered: bool = True) -> float:
    """``n`` concurrent calls from a caller process, until they hung up; the seconds of caller
    audio streamed (the calls' length, the same for any bot)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.twilio_callers", "--url", base_url, "--calls", str(n),
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
    return got["frames_sent"] * 0.020


async def round_of_calls(served, n: int, workers: list, timeout_s: float = 30.0, *, answered: bool = True) -> float:
    """``n`` concurrent calls from a caller process; returns once the bots' pipelines finished,
    with the seconds of caller audio streamed (the calls' length, the same for any bot)."""
    before = len(workers)
    call_s = await place_calls(served.base_url, n, answered=answered)
    deadline = time.monotonic() + timeout_s
    while not all(w.has_finished() for w in workers[before:]):
        if time.monotonic() > deadline:
            raise TimeoutError("a bot pipeline did not finish after the caller hung up")
        await asyncio.sleep(0.05)
    return call_s


def _stat(values: list[float], digits: int = 2) -> dict:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


async def measure(rounds: int = 3, calls: int = 4, say=print, paths: tuple[str, ...] = PATHS) -> dict:
    """Bot process CPU per call-second per path, per round; calls per core and their ratio.

    ``paths``: which apps, in the first round's order (the order rotates each round); ``twilio``
    and ``stock`` are needed for the ratio, ``floor`` for the figures above it.
    """
    _check_paths(paths)
    workers: list = []
    per_round: dict[str, list[float]] = {p: [] for p in paths}
    walls: dict[str, list[float]] = {p: [] for p in paths}

    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        endpoint = emu.endpoint
        ours_app = create_app(
            TwilioBotConfig(audio=TelephonyAudio(), model=MODEL, system_instruction=INSTRUCTION),
            emulator=endpoint,
            on_call=lambda call: workers.append(call.worker),
        )
        stock_app = create_stock_app(endpoint, model=MODEL, instruction=INSTRUCTION, on_call=workers.append)
        floor_app = create_stock_app(endpoint, model=MODEL, instruction=INSTRUCTION, on_call=workers.append, service=False)
        apps = {"twilio": ours_app, "stock": stock_app, "floor": floor_app}
        for name, audio in BEFORE.items():
            apps[name] = create_app(
                TwilioBotConfig(audio=audio, model=MODEL, system_instruction=INSTRUCTION),
                emulator=endpoint,
                on_call=lambda call: workers.append(call.worker),
            )
        async with contextlib.AsyncExitStack() as stack:
            served = {p: await stack.enter_async_context(serve(apps[p])) for p in paths}
            # Warm the answering apps up (imports, the first client), at once.
            await asyncio.gather(*(round_of_calls(served[p], 1, workers) for p in paths if p != "floor"))
            for r in range(rounds):
                k = r % len(paths)
                for path in paths[k:] + paths[:k]:
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
    return _summary(per_round, walls, paths, rounds, calls) | {"concurrent": False}


def _check_paths(paths: tuple[str, ...]) -> None:
    unknown = set(paths) - set(PATHS) - set(BEFORE) - {BASE}
    if unknown or not {"twilio", "stock"} <= set(paths):
        raise ValueError(f"paths must include twilio and stock and be among {PATHS + tuple(BEFORE)}, got {paths}")


def _summary(per_round: dict, walls: dict, paths: tuple[str, ...], rounds: int, calls: int) -> dict:
    ratios = [s / t for t, s in zip(per_round["twilio"], per_round["stock"], strict=True)]
    # Each bot's CPU above the floor, per round (the service and its audio path).
    over = (
        {p: [v - f for v, f in zip(per_round[p], per_round["floor"], strict=True)] for p in paths if p != "floor"}
        if "floor" in paths
        else {}
    )
    # Each optimization: our bot without it / with it, per round (above 1: it saves CPU).
    before = {p: _stat([b / t for t, b in zip(per_round["twilio"], per_round[p], strict=True)], 3) for p in paths if p in BEFORE or p == BASE}
    return {
        "over_floor_ms": {p: _stat(v) for p, v in over.items()},
        "before_over_after": before,
        "paths": list(paths),
        "rounds": rounds,
        "calls": calls,
        "cpu_ms_per_call_s": {p: _stat(v) for p, v in per_round.items()},
        "calls_per_core": {p: round(1000 / statistics.median(v), 1) for p, v in per_round.items()},
        "calls_per_core_ratio": _stat(ratios, 3),
        "per_round": per_round,
        "round_wall_s": walls,
    }


class AppProcess:
    """One app in a process of its own (:mod:`bench.twilio_app_process`): its URL and CPU."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, pid: int):
        self.proc, self.url, self.pid = proc, url, pid

    @classmethod
    async def start(cls, name: str, endpoint, timeout_s: float = 60.0, tree: Path = ROOT) -> AppProcess:
        """``name``'s app in a process of its own, with the code of ``tree`` (a source tree)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.twilio_app_process", "--app", name, "--endpoint", endpoint.to_json(),
            cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout_s)
        if not line.startswith(b"{"):
            proc.kill()
            raise RuntimeError(f"app {name} did not start: {line[:200]!r}")
        got = json.loads(line)
        return cls(proc, got["url"], got["pid"])

    def cpu_s(self) -> float:
        return process_cpu_s(self.pid)

    async def settled(self, timeout_s: float = 30.0) -> None:
        """Once every call's pipeline in the app has finished."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient() as client:
            while (await client.get(f"{self.url}/bench/active")).json()["active"]:
                if time.monotonic() > deadline:
                    raise TimeoutError("a bot pipeline did not finish after the caller hung up")
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def measure_concurrent(
    rounds: int = 3, calls: int = 4, say=print, paths: tuple[str, ...] = PATHS, base_tree: Path | None = None
) -> dict:
    """As :func:`measure`, but each app in a process of its own and all apps' calls at once.

    With ``base_tree`` (another commit's source tree, :func:`bench.revisions.export`) our bot as
    that tree has it races too, as path :data:`BASE`.

    Every round places ``calls`` calls on every app at the same moment; an app's CPU is its
    process's (``/proc``) from the round's start to its pipelines' end. Load from elsewhere on
    the machine then falls on all apps in the same seconds, where one after the other it
    falls on whichever app was running.
    """
    if base_tree is not None and BASE not in paths:
        paths = (*paths, BASE)
    _check_paths(paths)
    per_round: dict[str, list[float]] = {p: [] for p in paths}
    walls: dict[str, list[float]] = {p: [] for p in paths}
    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        apps: dict[str, AppProcess] = {}
        try:
            for p in paths:
                if p == BASE:
                    if base_tree is None:
                        raise ValueError(f"path {BASE} needs base_tree")
                    apps[p] = await AppProcess.start("twilio", emu.endpoint, tree=base_tree)
                else:
                    apps[p] = await AppProcess.start(p, emu.endpoint)
            answering = [p for p in paths if p != "floor"]
            await asyncio.gather(*(place_calls(apps[p].url, 1) for p in answering))
            await asyncio.gather(*(apps[p].settled() for p in answering))

            async def one(path: str) -> tuple[float, float, float]:
                app = apps[path]
                cpu0, wall0 = app.cpu_s(), time.monotonic()
                call_s = await place_calls(app.url, calls, answered=path != "floor")
                await app.settled()
                return app.cpu_s() - cpu0, time.monotonic() - wall0, call_s

            for r in range(rounds):
                k = r % len(paths)
                order = paths[k:] + paths[:k]
                got = await asyncio.gather(*(one(p) for p in order))
                for path, (cpu, wall, call_s) in zip(order, got, strict=True):
                    ms = 1000 * cpu / call_s
                    per_round[path].append(ms)
                    walls[path].append(wall)
                    say(f"round {r + 1}/{rounds} {path:11s} {calls} calls: {ms:.1f} ms CPU per call-second (wall {wall:.1f} s, {call_s:.0f} call-s)")
        finally:
            for app in apps.values():
                await app.stop()
    return _summary(per_round, walls, paths, rounds, calls) | {"concurrent": True}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Calls per core of the Twilio bot: ours vs Pipecat's stock setup.")
    p.add_argument("--rounds", type=int, default=3, help="rounds (each: --calls calls per path)")
    p.add_argument("--calls", type=int, default=4, help="concurrent calls per path and round")
    p.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated, among {', '.join(PATHS + tuple(BEFORE))}")
    p.add_argument("--sequential", action="store_true", help="all apps in this process, one app's calls at a time")
    p.add_argument("--json", type=Path, default=ROOT / "bench/telephony_cpu.json", help="where to write the result")
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    run = measure if args.sequential else measure_concurrent
    result = asyncio.run(run(args.rounds, args.calls, paths=tuple(args.paths.split(","))))
    print(f"\n{'path':48s} {'CPU ms per call-s (median [min-max])':>38s} {'calls per core':>15s}")
    for path in result["paths"]:
        s = result["cpu_ms_per_call_s"][path]
        print(f"{LABELS[path]:48s} {s['median']:>14.1f} [{s['min']:.1f}-{s['max']:.1f}]{'':>10s} {result['calls_per_core'][path]:>12.1f}")
    r = result["calls_per_core_ratio"]
    print(f"calls per core, ours / stock: {r['median']:.2f} [{r['min']:.2f}-{r['max']:.2f}]")
    for p, st in result["over_floor_ms"].items():
        print(f"{LABELS[p]} above the floor: {st['median']:.1f} [{st['min']:.1f}-{st['max']:.1f}] ms per call-second")
    for p, st in result["before_over_after"].items():
        print(f"{LABELS[p]} / ours: {st['median']:.3f} [{st['min']:.3f}-{st['max']:.3f}]")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"result: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
