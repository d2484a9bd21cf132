"""How long a call start stalls the other calls of its process (event-loop lag), before and after.

    .venv/bin/python -m bench.call_start                 # both modes, rotated, 2 repeats

A process runs ``background`` calls of our service (the cost race's pipeline, against the
emulator in a process of its own); a probe task sleeps 1 ms at a time and records how late it
wakes (what every call's audio task feels). Then ``starts`` more calls start, ``gap_s`` apart;
for each, the worst lag in the ``gap_s`` after it starts, against the worst lag in a window
of the same length before the first start (the baseline). Modes:

- ``before``: every call builds its own SSL context and ``genai.Client`` (what the service did
  before ``clients.shared_client``, and what a bot that builds ``HttpOptions`` per call does);
- ``after``: one SSL context and one client for the process (``clients.shared_client``).

Also reported: the CPU time of building one ``genai.Client`` with default settings (no SSL
context given, as with Google's endpoint), which is what each call start cost the loop before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loguru import logger
from pipecat.workers.runner import WorkerRunner

from bench.emulator_process import Endpoint, EmulatorProcess
from bench.rig import build_call, start_frames
from pipecat_gemini_live.apps.transports.wav import load_wav

ROOT = Path(__file__).resolve().parent.parent
CALLER = ROOT / "pipelines/audio/caller_3turns_8k_ulaw.wav"
MODES = ("before", "after")


def default_client_build_ms(tries: int = 5) -> float:
    """Median CPU ms to build a ``genai.Client`` with no SSL context given (Google's endpoint)."""
    from google.genai import Client, types

    times = []
    for _ in range(tries):
        t = time.process_time()
        Client(api_key="x", http_options=types.HttpOptions(base_url="https://127.0.0.1:9"))
        times.append(1000 * (time.process_time() - t))
    return round(statistics.median(times), 1)


def _per_call_options(endpoint: Endpoint):
    """A fresh SSL context and ``HttpOptions`` (the ``before`` mode builds these for every call)."""
    from google.genai import types

    ctx = ssl.create_default_context(cafile=endpoint.ca_file)
    return types.HttpOptions(base_url=endpoint.base_url, async_client_args={"ssl": ctx})


async def _run(call) -> None:
    runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
    await start_frames(call)
    await runner.add_workers(call.worker)
    await runner.run()


async def measure(mode: str, endpoint: Endpoint, *, background: int = 8, starts: int = 6, gap_s: float = 1.5) -> dict:
    """One process's measurement (see the module docstring)."""
    from google.genai import Client

    audio = load_wav(CALLER)
    lags: list[tuple[float, float]] = []
    stop = False

    async def probe():
        while not stop:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append((t, time.perf_counter() - t - 0.001))

    def new_call(path: Path):
        if mode == "after":
            return build_call("ours", endpoint, audio, path, end_when_done=False)
        call = build_call("ours", endpoint, audio, path, end_when_done=False)
        # What the service did before: a client of its own, on options of its own.
        options = _per_call_options(endpoint)
        service = call.service
        service._http_options = options
        service._client_for_sessions = lambda: Client(api_key=endpoint.api_key, http_options=options)
        return call

    endpoint.http_options()
    tasks, calls = [], []
    probe_task = asyncio.create_task(probe())
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
        for i in range(background):
            calls.append(new_call(Path(tmp) / f"bg{i}.wav"))
            tasks.append(asyncio.create_task(_run(calls[-1])))
            await asyncio.sleep(0.25)
        await asyncio.sleep(1.0 + gap_s)
        base_from = time.perf_counter() - gap_s
        baseline = max((lag for t, lag in lags if t >= base_from), default=0.0)
        start_lags = []
        for i in range(starts):
            t0 = time.perf_counter()
            calls.append(new_call(Path(tmp) / f"s{i}.wav"))
            tasks.append(asyncio.create_task(_run(calls[-1])))
            await asyncio.sleep(gap_s)
            start_lags.append(max((lag for t, lag in lags if t >= t0 - 0.0005), default=0.0))
            lags[:] = [x for x in lags if x[0] >= t0 + gap_s - 0.01]
        stop = True
        await probe_task
        errors = sorted({e for c in calls for e in c.errors})
        for c in calls:
            await c.worker.cancel()
        await asyncio.wait(tasks, timeout=15)
    return {
        "mode": mode,
        "background": background,
        "starts": starts,
        "baseline_max_lag_ms": round(1000 * baseline, 2),
        "start_max_lag_ms": [round(1000 * x, 2) for x in start_lags],
        "errors": errors[:3],
    }


def run_all(repeats: int = 2, say=print) -> dict:
    """Both modes, each in fresh processes, interleaved and rotated, ``repeats`` times."""
    runs = []
    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        for rep in range(repeats):
            order = MODES if rep % 2 == 0 else MODES[::-1]
            for mode in order:
                cmd = [sys.executable, "-m", "bench.call_start", "--mode", mode, "--endpoint", emu.endpoint.to_json()]
                env = {**os.environ, "PYTHONPATH": str(ROOT)}
                done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
                lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
                if done.returncode != 0 or not lines:
                    raise RuntimeError(f"bench.call_start {mode} exited {done.returncode}: {done.stderr[-500:]}")
                r = json.loads(lines[-1])
                r["repeat"] = rep
                runs.append(r)
                say(f"  call start r{rep + 1} {mode:6s}: worst lag per start {r['start_max_lag_ms']} ms (baseline {r['baseline_max_lag_ms']} ms)")
    summary = {}
    for mode in MODES:
        every = [x for r in runs if r["mode"] == mode for x in r["start_max_lag_ms"]]
        base = [r["baseline_max_lag_ms"] for r in runs if r["mode"] == mode]
        summary[mode] = {
            "start_lag_ms": {"median": round(statistics.median(every), 2), "max": round(max(every), 2), "n": len(every)},
            "baseline_ms": {"median": round(statistics.median(base), 2), "max": round(max(base), 2)},
        }
    return {"runs": runs, "summary": summary, "default_client_build_cpu_ms": default_client_build_ms()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=MODES)
    p.add_argument("--endpoint", help="the emulator, as JSON (a worker process)")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    if args.mode:
        print(json.dumps(asyncio.run(measure(args.mode, Endpoint.from_json(args.endpoint)))), flush=True)
        return 0
    print(json.dumps(run_all(args.repeats)["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
