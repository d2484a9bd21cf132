"""The explorer's hypothesis plumbing, shared by the seeded `make test` set and `make explore`."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as with_seed

from .driver import DURATIONS, run_timeline
from .invariants import check
from .observation import Observation
from .timeline import Timeline, describe, timelines

RUNS = {"timelines": 0}
PROGRESS = {"on": False}
# `make explore` reports the first failure of each kind (violation class) shrunk, and only counts
# its repeats: shrinking takes minutes, and a fault that sits on a common path (a switch during a
# reply) would otherwise eat the whole budget. EXPLORE_DEDUPE=0 shrinks every failure.
SEEN: dict[str, int] = {}
DEDUPE = {"on": False}


# `make test` plays calls at twice real time: it shares two cores with the whole suite, and a
# time-scaled call measures the machine as much as the service when the machine is starved.
# `make explore` runs alone and goes faster (EXPLORE_SPEED, default 4).
SPEED = {"x": 2.0}


# A call played against the clock proves nothing about the service when the machine stopped
# running it: with a whole test suite on two cores a process can be off the CPU for a second
# (one CI run saw a pipeline take 3.4 s to start). A failing run whose event loop woke this late
# (wall seconds) is played again, up to STARVED_RUNS runs in all; the failure stands when a run
# that was not starved fails, or when every run was starved (CI once saw two starved runs in a
# row, 0.45 s and 0.41 s late, at 4x: over a second and a half of call time each).
STARVED_LAG_S = 0.25
STARVED_RUNS = 3


def run_and_check(tl: Timeline, speed: float | None = None, also: Callable[[Observation], object] | None = None):
    """One timeline, judged; on failure the schedule is part of the message. Returns the
    :class:`~.observation.Observation`. ``speed``: time scale for this run (default: the
    explorer's, 2 under pytest, ``EXPLORE_SPEED`` in ``make explore``), for a finding that shows
    only at the speed it was found at. ``also``: a test's own further checks of the observation
    (raising ``AssertionError``), judged with the invariants, so that they too are played again
    when the machine was starved rather than when they pass."""
    RUNS["timelines"] += 1
    lags: list[float] = []
    while True:
        with tempfile.TemporaryDirectory(prefix="explore-") as tmp:
            obs = asyncio.run(run_timeline(tl, Path(tmp), speed=speed or SPEED["x"]))
        lags.append(obs.max_loop_lag_s)
        try:
            check(obs)
            if also is not None:
                also(obs)
            break
        except AssertionError as e:
            if obs.max_loop_lag_s > STARVED_LAG_S and len(lags) < STARVED_RUNS:
                print(
                    f"  #{RUNS['timelines']} {type(e).__name__} on a starved machine (the event loop woke "
                    f"{obs.max_loop_lag_s:.2f} s late): playing it again",
                    flush=True,
                )
                continue
            kind = type(e).__name__
            if DEDUPE["on"] and kind in SEEN:
                SEEN[kind] += 1
                if PROGRESS["on"]:
                    print(f"  #{RUNS['timelines']} {kind} again (already reported): {str(e)[:120]}", flush=True)
                return obs
            if PROGRESS["on"]:
                print(f"  #{RUNS['timelines']} {type(e).__name__}: {str(e)[:160]}", flush=True)
            lag_note = f"worst event-loop lag per run: {', '.join(f'{x:.2f} s' for x in lags)}"
            e.args = (f"{e.args[0]}\n{describe(tl, DURATIONS)}\n{tl!r}\n{lag_note}",)
            raise
    if PROGRESS["on"]:
        print(f"  #{RUNS['timelines']} ok ({tl.model}, {len(tl.speech)} turns, {len(tl.events)} events, faults {list(tl.faults)})", flush=True)
    return obs


def seeded(seed: int, examples: int, *, shrink: bool = False):
    """A hypothesis test over ``examples`` timelines from ``seed`` (deterministic, no database)."""
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])

    @with_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(timelines())
    def explore(tl):
        run_and_check(tl)

    return explore


def _flatten(e: BaseException, flaky: bool = False) -> list[BaseException]:
    """The violations inside what hypothesis raised (a group of distinct failures, or a
    FlakyFailure: one that did not fail again on replay, as timing faults may not)."""
    if isinstance(e, BaseExceptionGroup):
        flaky = flaky or type(e).__name__ == "FlakyFailure"
        return [x for sub in e.exceptions for x in _flatten(sub, flaky)]
    if flaky:
        e.args = (f"(flaky: did not fail again on replay) {e.args[0] if e.args else ''}",)
    return [e]


def explore_for(minutes: float, first_seed: int = 0, batch: int = 10) -> list[str]:
    """Run batches of random timelines (shrinking failures) until ``minutes`` are spent.

    Returns the failures, each with its shrunk timeline.
    """
    failures: list[str] = []
    deadline = time.monotonic() + minutes * 60
    s = first_seed
    while time.monotonic() < deadline:
        try:
            seeded(s, batch, shrink=True)()
        except BaseException as e:  # hypothesis raises the shrunk failure (or a group of them)
            if isinstance(e, KeyboardInterrupt):
                raise
            for err in _flatten(e):
                SEEN.setdefault(type(err).__name__, 0)
                failures.append(f"seed {s}: {type(err).__name__}: {err}")
                print(f"\n=== FAILURE (seed {s}) ===\n{type(err).__name__}: {err}\n", flush=True)
        s += 1
        print(f"[explore] seeds {first_seed}..{s - 1} done, {RUNS['timelines']} timelines run, "
              f"{len(failures)} failures", flush=True)
    return failures


def main() -> int:
    from loguru import logger

    logger.remove()  # the service's own log would bury the report; errors still show
    logger.add(sys.stderr, level=os.environ.get("EXPLORE_LOG_LEVEL", "ERROR"))
    PROGRESS["on"] = True
    SPEED["x"] = float(os.environ.get("EXPLORE_SPEED", "4"))
    DEDUPE["on"] = os.environ.get("EXPLORE_DEDUPE", "1") != "0"
    # Hypothesis shrinks a failure for up to 5 minutes; each try here is a call of several
    # seconds, so the budget is shortened (an internal knob of hypothesis's engine).
    from hypothesis.internal.conjecture import engine

    engine.MAX_SHRINKING_SECONDS = int(os.environ.get("EXPLORE_SHRINK_SECONDS", "150"))
    minutes = float(os.environ.get("EXPLORE_MINUTES", "30"))
    first = int(os.environ.get("EXPLORE_SEED", "1000"))
    failures = explore_for(minutes, first)
    print(f"\n[explore] {RUNS['timelines']} timelines run in {minutes:g} min; {len(failures)} failures")
    for kind, again in SEEN.items():
        print(f"[explore] {kind}: reported once, seen {again} more time(s)")
    for f in failures:
        print("\n---\n" + f)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
