"""What each kind of the cost race does per call-second, and where our service's CPU goes.

    .venv/bin/python -m bench.hot_path [--calls 8]

The same calls as :mod:`bench.cost` (:func:`bench.load.measure`, 8 kHz caller, the window
while all calls are in full swing), one kind at a time in this process, with counters around
(only inside the window):

- frame hops (``FrameProcessor.queue_frame``), all and by frame type;
- asyncio tasks created and timers armed (``loop.create_task``, ``loop.call_at``);
- WebSocket messages sent to and received from the Live API, and socket writes;
- for our service, the CPU (``time.process_time``) spent inside its hot functions: its
  ``process_frame``, the caller-audio path, a message's send, the handling of a server
  message, the pushes of its frames. Nested, so they do not add up; the wrappers' own cost
  (two clock reads each) is in the figures;
- for every kind, the CPU the other pipeline stages (transports, aggregators, the pipeline's
  ends; not the service) spend processing frames (Pipecat's ``FrameProcessor.__process_frame``,
  which does not yield for these frames), split into caller audio and everything else (the
  reply: its audio, text and the output transport's ``BotSpeakingFrame``). The output
  transport's own audio task (writing, pacing) is not in it.

Counting costs CPU, so this runs apart from the race; its figures explain the race's, they are
not part of it. Writes ``bench/hot_path.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from loguru import logger

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("ours", "builtin", "passthrough")
FRAME_TYPES = ("InputAudioRawFrame", "TTSAudioRawFrame", "BotSpeakingFrame")


@contextlib.contextmanager
def instrumented(active: list[bool]) -> Iterator[tuple[collections.Counter, collections.Counter]]:
    """Counters and CPU timers (see the module docstring), live while ``active[0]``."""
    from asyncio import base_events, selector_events

    import websockets.asyncio.connection as wc
    from pipecat.processors.frame_processor import FrameProcessor

    from pipecat_gemini_live.call import caller_audio, connection, recovery, replies
    from pipecat_gemini_live.service import GeminiLiveLLMService

    counts: collections.Counter = collections.Counter()
    cpu: collections.Counter = collections.Counter()
    clock = time.process_time
    saved = []

    def patch(cls, name, make):
        orig = getattr(cls, name)
        saved.append((cls, name, orig))
        setattr(cls, name, make(orig))

    def count(key, per_type=False):
        def make(orig):
            if per_type:
                async def f(self, frame, *a, **k):
                    if active[0]:
                        counts[key] += 1
                        kind = type(frame).__name__
                        if kind in FRAME_TYPES:
                            counts[f"{key}: {kind}"] += 1
                    return await orig(self, frame, *a, **k)
            elif asyncio.iscoroutinefunction(orig):
                async def f(*a, **k):
                    if active[0]:
                        counts[key] += 1
                    return await orig(*a, **k)
            else:
                def f(*a, **k):
                    if active[0]:
                        counts[key] += 1
                    return orig(*a, **k)
            return f
        return make

    def timed(key):
        def make(orig):
            async def f(*a, **k):
                if not active[0]:
                    return await orig(*a, **k)
                t = clock()
                try:
                    return await orig(*a, **k)
                finally:
                    cpu[key] += clock() - t
                    counts[f"calls: {key}"] += 1
            return f
        return make

    def stage_time(orig):
        async def f(self, frame, *a, **k):
            if not active[0] or isinstance(self, GeminiLiveLLMService):
                return await orig(self, frame, *a, **k)
            key = "stages: caller audio" if type(frame).__name__ == "InputAudioRawFrame" else "stages: other frames"
            t = clock()
            try:
                return await orig(self, frame, *a, **k)
            finally:
                cpu[key] += clock() - t
                counts[f"calls: {key}"] += 1
        return f

    patch(FrameProcessor, "_FrameProcessor__process_frame", stage_time)
    patch(FrameProcessor, "queue_frame", count("frame hops", per_type=True))
    patch(base_events.BaseEventLoop, "create_task", count("tasks created"))
    patch(base_events.BaseEventLoop, "call_at", count("timers armed"))
    patch(selector_events._SelectorSocketTransport, "write", count("socket writes"))
    patch(wc.Connection, "send", count("Live API messages sent"))
    patch(wc.Connection, "recv", count("Live API messages received"))
    patch(GeminiLiveLLMService, "process_frame", timed("service process_frame"))
    patch(GeminiLiveLLMService, "push_frame", timed("service push_frame"))
    patch(caller_audio.CallerAudio, "on_frame", timed("caller audio path"))
    patch(connection.LiveSession, "send_audio", timed("audio message send"))
    patch(wc.Connection, "send", timed("WebSocket send"))
    patch(recovery.SessionEvents, "on_message", timed("server message handling"))
    patch(replies.ServerEvents, "apply", timed("server event -> frames"))
    try:
        yield counts, cpu
    finally:
        for cls, name, orig in reversed(saved):
            setattr(cls, name, orig)


async def _one(kind: str, calls: int, endpoint, window_s: float) -> dict:
    import bench.load as load

    active = [False]
    marks: dict[str, float] = {}

    class Window:  # bench.load's profiler hook: opens and closes the counting window
        def __init__(self, *_a):
            pass

        def enable(self):
            counts.clear()
            cpu.clear()
            active[0] = True
            marks["t0"] = time.monotonic()

        def disable(self):
            active[0] = False
            marks["t1"] = time.monotonic()

    with instrumented(active) as (counts, cpu):
        real_profile, real_top = load.cProfile.Profile, load._top
        load.cProfile.Profile, load._top = Window, (lambda _p, _n: None)
        try:
            r = await load.measure(kind, calls, endpoint, profile_top=1, max_window_s=window_s, spread_s=4.0)
        finally:
            load.cProfile.Profile, load._top = real_profile, real_top
        call_s = (marks["t1"] - marks["t0"]) * calls
        return {
            "cpu_ms_per_call_s": round(1000 * r["cpu_per_call_s"], 2),
            "reply_p50_ms": r["reply_ms"]["p50"],
            "per_call_s": {k: round(v / call_s, 1) for k, v in sorted(counts.items()) if not k.startswith("calls: ")},
            "cpu_ms_per_call_s_in": {
                k: {"ms": round(1000 * v / call_s, 3), "calls": round(counts[f"calls: {k}"] / call_s, 1),
                    "us_each": round(1e6 * v / max(1, counts[f"calls: {k}"]), 1)}
                for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])
            },  # fmt: skip
        }


async def measure(calls: int = 8, window_s: float = 8.0, kinds: tuple[str, ...] = KINDS, say=print) -> dict:
    """Counts and CPU per call-second for each of ``kinds``."""
    from bench.emulator_process import EmulatorProcess

    out: dict = {"calls": calls, "window_s": window_s, "kinds": {}}
    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        for kind in kinds:
            out["kinds"][kind] = await _one(kind, calls, emu.endpoint, window_s)
            say(f"{kind}: {out['kinds'][kind]['per_call_s']}")
    return out


def _run_tree(tree: Path, calls: int) -> dict:
    """Our service's counts and CPU with ``tree``'s code (this module run there, in a fresh process)."""
    import shutil
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-hot-") as tmp:
        if tree != ROOT:
            shutil.copy(Path(__file__), tree / "bench" / "hot_path.py")
        out = Path(tmp) / "hot_path.json"
        cmd = [sys.executable, "-m", "bench.hot_path", "--calls", str(calls), "--kinds", "ours", "--json", str(out)]
        done = subprocess.run(cmd, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"hot_path in {tree} exited {done.returncode}: {done.stderr.strip()[-500:]}")
        return json.loads(out.read_text())["kinds"]["ours"]


def _median_of(runs: list[dict]) -> dict:
    """Field-by-field medians of :func:`_one` results."""
    import statistics

    def med(values):
        return round(statistics.median(values), 3)

    keys = {k for r in runs for k in r["per_call_s"]}
    parts = {k for r in runs for k in r["cpu_ms_per_call_s_in"]}
    return {
        "cpu_ms_per_call_s": med([r["cpu_ms_per_call_s"] for r in runs]),
        "per_call_s": {k: med([r["per_call_s"].get(k, 0.0) for r in runs]) for k in sorted(keys)},
        "cpu_ms_per_call_s_in": {
            k: {f: med([r["cpu_ms_per_call_s_in"][k][f] for r in runs if k in r["cpu_ms_per_call_s_in"]]) for f in ("ms", "calls", "us_each")}
            for k in parts
        },
        "runs": len(runs),
    }


def before_after(commit: str, calls: int = 8, repeats: int = 2, say=print) -> dict:
    """Our service at ``commit`` and at this tree, each in fresh processes, alternating
    (``repeats`` each, the order swapped every repeat); medians of each figure.

    Raises:
        RuntimeError: A run failed.
    """
    import tempfile

    from bench.revisions import export

    got: dict[str, list[dict]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
        short = export(commit, Path(tmp))
        trees = {"before": Path(tmp), "after": ROOT}
        for rep in range(repeats):
            for which in (("before", "after") if rep % 2 == 0 else ("after", "before")):
                got[which].append(_run_tree(trees[which], calls))
                say(f"    hot path, ours {which} ({rep + 1}/{repeats}): {got[which][-1]['cpu_ms_per_call_s']} ms per call-second")
    return {"commit": short, "repeats": repeats, "before": _median_of(got["before"]), "after": _median_of(got["after"])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=8)
    p.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated subset of {','.join(KINDS)}")
    p.add_argument("--json", type=Path, default=ROOT / "bench/hot_path.json")
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    result = asyncio.run(measure(args.calls, kinds=tuple(k for k in args.kinds.split(",") if k)))
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"result: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
