"""Cost per call: ours, the built-in and the floor, interleaved, order rotated, repeated.

For every repeat and every N, one fresh process per kind runs :mod:`bench.load` (its CPU and
memory are those calls' alone) against one emulator in a process of its own. The kinds are
the two services and two floors (:data:`bench.rig.KINDS`): the same pipeline with no service,
and with a pass-through stage where the service sits. Within a repeat the kinds run one after
the other in an order that rotates with every (repeat, N), so drift on a shared machine falls
on all of them alike. A service's **overhead** is its CPU per call-second minus the floor's
in the same repeat and N; the report gives medians and the spread (min-max) over repeats.

Memory per added call is the slope of the process's RSS between the smallest and largest N
(the first call also pays for lazy imports and pools, which a slope leaves out).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.emulator_process import EmulatorProcess
from bench.load import paced
from bench.rig import KINDS, SERVICES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STEPS = (8, 32)
DEFAULT_REPEATS = 3
# A window this long holds 400 caller frames per call and N of them per run.
WINDOW_S = 8.0
SPREAD_S = 4.0
# Past this the emulator (VAD on every caller frame, TTS for every reply) is using most of a
# core of a two-core machine, and calls slowing down says more about it than about the bot.
EMULATOR_CORES_LIMIT = 0.9


def run_load(
    kind: str,
    calls: int,
    emu: EmulatorProcess,
    *,
    timeout_s: float = 300.0,
    profile_top: int = 0,
    extra: list[str] | None = None,
) -> dict:
    """One :mod:`bench.load` measurement in a fresh process.

    Args:
        kind: One of :data:`bench.rig.KINDS`.
        calls: Concurrent calls.
        emu: The emulator process.
        timeout_s: Longest wait for the process, seconds.
        profile_top: Profile the window and report this many functions (0: no profile).
        extra: More ``bench.load`` arguments (``--quality``, ``--no-turn-tracking``...).

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
        *(extra or []),
    ]
    return run_load_process(cmd, ROOT, f"{kind} x{calls}", timeout_s)


def run_load_process(cmd: list[str], tree: Path, label: str, timeout_s: float) -> dict:
    """Run a ``bench.load`` command with ``tree``'s code and return the result it printed last
    (a JSON line).

    Raises:
        RuntimeError: The process failed or printed no result (its last stderr lines say why).
    """
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout_s)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-5:]
        raise RuntimeError(f"bench.load {label} in {tree} exited {done.returncode}: {' | '.join(tail)}")
    return json.loads(lines[-1])


def profile(calls: int = 8, top: int = 15) -> dict:
    """Where our service's CPU goes: ``calls`` concurrent calls under cProfile."""
    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        r = run_load("ours", calls, emu, profile_top=top)
    return {"calls": calls, "window_s": r["window_s"], "top": r["profile"]}


def rotated(kinds: tuple[str, ...], turn: int) -> tuple[str, ...]:
    """``kinds`` starting at index ``turn`` (mod their count)."""
    k = turn % len(kinds)
    return kinds[k:] + kinds[:k]


def measure(
    steps: tuple[int, ...] = DEFAULT_STEPS,
    repeats: int = DEFAULT_REPEATS,
    *,
    kinds: tuple[str, ...] = KINDS,
    window_s: float = WINDOW_S,
    say=print,
) -> dict:
    """Race ``kinds`` at each N of ``steps``, ``repeats`` times, interleaved and rotated.

    Returns:
        ``{"steps", "repeats", "kinds", "runs": [load results + "repeat", "order"],
        "summary": see :func:`summarize`, "emulator_cores_max", "cores"}``.
    """
    runs: list[dict] = []
    extra = ["--max-window-s", str(window_s), "--spread-s", str(SPREAD_S)]
    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        turn = 0
        for rep in range(repeats):
            for n in steps:
                order = rotated(kinds, turn)
                turn += 1
                for pos, kind in enumerate(order):
                    r = run_load(kind, n, emu, extra=extra)
                    r["repeat"], r["order"] = rep, pos
                    runs.append(r)
                    say(
                        f"  cost r{rep + 1} N={n:3d} {kind:11s}: {1000 * r['cpu_per_call_s']:.2f} ms CPU per call-second, "
                        f"RSS {r['rss_mib']:.0f} MiB, late>100ms {100 * r['input_late_share']:.2f}%, "
                        f"underruns {r['underruns']}, paced {r['paced']}, emulator {r['emulator_cores']} cores"
                    )
    result = {
        "steps": list(steps),
        "repeats": repeats,
        "kinds": list(kinds),
        "window_s": window_s,
        "spread_s": SPREAD_S,
        "runs": runs,
        "emulator_cores_max": max((r["emulator_cores"] or 0) for r in runs) if runs else None,
        "cores": os.cpu_count(),
    }
    result["summary"] = summarize(result)
    return result


def rederive(result: dict) -> dict:
    """Re-judge pacing of stored runs with the current :func:`bench.load.paced` rule, re-summarize."""
    for r in result["runs"]:
        r["underrun_share"] = round(r["underruns"] / r["bot_chunks"], 4) if r["bot_chunks"] else 0.0
        r["paced"] = paced(r)
    if "summary" in result or "repeats" in result:
        result["summary"] = summarize(result)
    return result


def _stat(values: list[float], digits: int = 2) -> dict | None:
    if not values:
        return None
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


def summarize(result: dict) -> dict:
    """Medians and spreads per kind and N; overheads over the floor; memory slopes.

    Returns:
        ``{"cpu_ms": {kind: {N: stat}}, "overhead_ms": {service: {N: stat}},
        "overhead_ratio": {N: stat of ours/built-in per repeat}, "mib_per_call": {kind: stat of
        per-repeat slopes}, "paced": {kind: {N: all repeats paced}}}``; a stat is
        ``{"median", "min", "max", "n"}``.
    """
    runs = result["runs"]
    steps = result["steps"]
    kinds = [k for k in result.get("kinds", KINDS) if any(r["service"] == k for r in runs)]
    by = {(r["service"], r["calls"], r.get("repeat", 0)): r for r in runs}
    repeats = sorted({r.get("repeat", 0) for r in runs})
    out: dict = {"cpu_ms": {}, "overhead_ms": {}, "overhead_ratio": {}, "mib_per_call": {}, "paced": {}, "reply_p50_ms": {}}
    for k in kinds:
        out["cpu_ms"][k] = {}
        out["paced"][k] = {}
        out["reply_p50_ms"][k] = {}
        for n in steps:
            mine = [by[(k, n, rep)] for rep in repeats if (k, n, rep) in by]
            out["cpu_ms"][k][n] = _stat([1000 * r["cpu_per_call_s"] for r in mine])
            out["paced"][k][n] = bool(mine) and all(r["paced"] for r in mine)
            out["reply_p50_ms"][k][n] = _stat([r["reply_ms"]["p50"] for r in mine if r["reply_ms"]["p50"] is not None], 1)
        slopes = []
        for rep in repeats:
            lo, hi = by.get((k, steps[0], rep)), by.get((k, steps[-1], rep))
            if lo and hi and hi["calls"] > lo["calls"]:
                slopes.append((hi["rss_mib"] - lo["rss_mib"]) / (hi["calls"] - lo["calls"]))
        out["mib_per_call"][k] = _stat(slopes)
    if "floor" in kinds:
        for k in (s for s in SERVICES if s in kinds):
            out["overhead_ms"][k] = {}
            for n in steps:
                diffs = [
                    1000 * (by[(k, n, rep)]["cpu_per_call_s"] - by[("floor", n, rep)]["cpu_per_call_s"])
                    for rep in repeats
                    if (k, n, rep) in by and ("floor", n, rep) in by
                ]
                out["overhead_ms"][k][n] = _stat(diffs)
        if all(k in kinds for k in SERVICES):
            for n in steps:
                ratios = []
                for rep in repeats:
                    try:
                        floor = by[("floor", n, rep)]["cpu_per_call_s"]
                        ours = by[("ours", n, rep)]["cpu_per_call_s"] - floor
                        theirs = by[("builtin", n, rep)]["cpu_per_call_s"] - floor
                    except KeyError:
                        continue
                    if theirs > 0:
                        ratios.append(ours / theirs)
                out["overhead_ratio"][n] = _stat(ratios, 3)
    return out


# The floor's optimizations, one at a time (bench.load arguments); "after" is the race's setup.
FLOOR_VARIANTS = {
    "before": ["--quality", "sinc_medium", "--turn-tracking", "--no-batching"],
    "polyphase": ["--turn-tracking", "--no-batching"],
    "no_turn_observer": ["--no-batching"],
    "after": [],
}
FLOOR_LABELS = {
    "before": "before: sinc_medium resampler, turn observer, 20 ms frames",
    "polyphase": "+ polyphase resampler",
    "no_turn_observer": "+ no turn-tracking observer",
    "after": "+ caller frames grouped at the input (the race's floor)",
}


def floor_variants(calls: int = 16, repeats: int = DEFAULT_REPEATS, *, window_s: float = 10.0, say=print) -> dict:
    """The floor (no service) before and after each optimization of ours, interleaved and rotated.

    Returns:
        ``{"calls", "repeats", "runs": [...], "cpu_ms": {variant: stat}, "frames_per_s": ...}``.
    """
    names = tuple(FLOOR_VARIANTS)
    runs: list[dict] = []
    extra = ["--max-window-s", str(window_s), "--spread-s", str(SPREAD_S)]
    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        for rep in range(repeats):
            for pos, name in enumerate(rotated(names, rep)):
                r = run_load("floor", calls, emu, extra=extra + FLOOR_VARIANTS[name])
                r["variant"], r["repeat"], r["order"] = name, rep, pos
                runs.append(r)
                say(f"  floor r{rep + 1} {name:17s}: {1000 * r['cpu_per_call_s']:.2f} ms CPU per call-second, paced {r['paced']}")
    return {
        "calls": calls,
        "repeats": repeats,
        "window_s": window_s,
        "runs": runs,
        "cpu_ms": {n: _stat([1000 * r["cpu_per_call_s"] for r in runs if r["variant"] == n]) for n in names},
        "paced": {n: all(r["paced"] for r in runs if r["variant"] == n) for n in names},
    }
