"""Cost per call: N concurrent calls of each service, growing N, each N in a fresh process.

For every N, one process per service runs :mod:`bench.load` (its CPU and memory are those
calls' alone) against one emulator in a process of its own. N grows until pacing breaks for
both services or the emulator itself runs out of room (its CPU over ``EMULATOR_CORES_LIMIT``
cores: then the machine, not the service, is the limit and the report says so).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.emulator_process import EmulatorProcess
from bench.load import paced
from bench.rig import SERVICES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STEPS = (1, 4, 8, 16, 24, 32, 48, 64)
# Past this the emulator (VAD on every caller frame, TTS for every reply) is using most of a
# core of a two-core machine, and calls slowing down says more about it than about the bot.
EMULATOR_CORES_LIMIT = 0.9


def run_load(kind: str, calls: int, emu: EmulatorProcess, *, timeout_s: float = 300.0, profile_top: int = 0) -> dict:
    """One :mod:`bench.load` measurement in a fresh process.

    Raises:
        RuntimeError: The process failed or printed no result.
    """
    cmd = [
        sys.executable,
        "-m",
        "bench.load",
        "--service",
        kind,
        "--calls",
        str(calls),
        "--endpoint",
        emu.endpoint.to_json(),
        "--emulator-pid",
        str(emu.pid),
        "--profile-top",
        str(profile_top),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-5:]
        raise RuntimeError(f"bench.load {kind} x{calls} exited {done.returncode}: {' | '.join(tail)}")
    return json.loads(lines[-1])


def profile(calls: int = 8, top: int = 15) -> dict:
    """Where our service's CPU goes: ``calls`` concurrent calls under cProfile."""
    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        r = run_load("ours", calls, emu, profile_top=top)
    return {"calls": calls, "window_s": r["window_s"], "top": r["profile"]}


def measure(steps: tuple[int, ...] = DEFAULT_STEPS, say=print) -> dict:
    """Sweep ``steps`` call counts for both services.

    Args:
        steps: Call counts, increasing.
        say: Progress printer.

    Returns:
        ``{"runs": [load results], "max_paced": {service: N or None},
        "emulator_limited_at": N or None, "ratio": {N: {"cpu", "memory"}}}``.
    """
    runs: list[dict] = []
    broken: set[str] = set()
    emulator_limited_at = None
    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        for n in steps:
            at_n = {}
            for kind in SERVICES:
                if kind in broken:
                    continue
                r = run_load(kind, n, emu)
                runs.append(r)
                at_n[kind] = r
                say(
                    f"  cost {kind:8s} N={n:3d}: {1000 * r['cpu_per_call_s']:.1f} ms CPU per call-second, "
                    f"{r['mib_per_call']:.1f} MiB per call, late>100ms {100 * r['input_late_share']:.2f}%, "
                    f"underruns {r['underruns']}, paced {r['paced']}, emulator {r['emulator_cores']} cores"
                )
                if not r["paced"]:
                    broken.add(kind)
            if at_n and max(r["emulator_cores"] or 0 for r in at_n.values()) > EMULATOR_CORES_LIMIT:
                emulator_limited_at = n
                say(f"  the emulator used more than {EMULATOR_CORES_LIMIT} cores at N={n}: stopping here")
                break
            if len(broken) == len(SERVICES):
                break
    return {
        "steps": list(steps),
        "runs": runs,
        "max_paced": {k: _max_paced(runs, k) for k in SERVICES},
        "emulator_limited_at": emulator_limited_at,
        "ratio": _ratios(runs),
        "cores": os.cpu_count(),
    }


def rederive(result: dict) -> dict:
    """Re-judge pacing of stored runs with the current :func:`bench.load.paced` rule."""
    for r in result["runs"]:
        r["underrun_share"] = round(r["underruns"] / r["bot_chunks"], 4) if r["bot_chunks"] else 0.0
        r["paced"] = paced(r)
    result["max_paced"] = {k: _max_paced(result["runs"], k) for k in SERVICES}
    return result


def _max_paced(runs: list[dict], kind: str) -> int | None:
    paced = [r["calls"] for r in runs if r["service"] == kind and r["paced"]]
    return max(paced) if paced else None


def _ratios(runs: list[dict]) -> dict[int, dict]:
    by = {(r["service"], r["calls"]): r for r in runs}
    out = {}
    for (kind, n), ours in by.items():
        theirs = by.get(("builtin", n))
        if kind != "ours" or theirs is None:
            continue
        out[n] = {
            "cpu": _ratio(ours["cpu_per_call_s"], theirs["cpu_per_call_s"]),
            "memory": _ratio(ours["mib_per_call"], theirs["mib_per_call"]),
        }
    return out


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None
