"""Our service at two commits, side by side: the before/after of a change to the service.

    .venv/bin/python -m bench.revisions --base <commit> [--repeats 4] [--calls 8]

The cost race (:mod:`bench.cost`) compares services; this compares our service with itself.
The ``base`` commit's tree is exported (``git archive``, no worktree is registered) into a
temporary directory, and :mod:`bench.load` runs from there for ``ours@base``, from this tree
for ``ours`` and the floor, one fresh process per run, against one emulator, interleaved with
the order rotated every repeat (as in :mod:`bench.cost`), so that shared load falls on all
alike. Both trees use this checkout's virtual environment (same Pipecat, SDK, numpy).

An overhead is a run's CPU per call-second minus the floor's in the same repeat; the result
gives medians and spreads (min-max) over repeats, and the per-repeat ratio after / before.
Writes ``bench/revisions.json`` (``--json``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from bench.cost import SPREAD_S, _stat, rotated, run_load_process
from bench.emulator_process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("before", "after", "floor")


def export(commit: str, into: Path) -> str:
    """Write ``commit``'s tree into ``into``; returns its short hash.

    Raises:
        subprocess.CalledProcessError: ``commit`` is not a commit of this repository.
    """
    short = subprocess.run(["git", "rev-parse", "--short", commit], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "archive", "--format=tar", short], cwd=ROOT, check=True, capture_output=True).stdout
    tar_path = into / "tree.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into, filter="data")
    tar_path.unlink()
    return short


def run_in(tree: Path, kind: str, calls: int, emu: EmulatorProcess, window_s: float, timeout_s: float = 300.0) -> dict:
    """One :mod:`bench.load` run with ``tree``'s code (its ``bench`` and package)."""
    cmd = [
        sys.executable, "-m", "bench.load", "--service", kind, "--calls", str(calls),
        "--endpoint", emu.endpoint.to_json(), "--emulator-pid", str(emu.pid),
        "--max-window-s", str(window_s), "--spread-s", str(SPREAD_S),
    ]  # fmt: skip
    return run_load_process(cmd, tree, f"{kind} x{calls}", timeout_s)


def measure(base: str, *, head: str | None = None, repeats: int = 4, calls: int = 8, window_s: float = 8.0, say=print) -> dict:
    """``ours`` at ``base`` and at this tree (or at commit ``head``), and the floor, interleaved
    and rotated.

    Returns:
        ``{"base", "head", "calls", "repeats", "window_s", "runs", "cpu_ms": {variant: stat},
        "overhead_ms": {"before"|"after": stat}, "ratio": stat of after/before overheads per
        repeat, "reply_p50_ms": {variant: stat}, "paced": {variant: bool}}``.
    """
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp, EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        (Path(tmp) / "base").mkdir()
        base_short = export(base, Path(tmp) / "base")
        after = ROOT
        if head is not None:
            (Path(tmp) / "head").mkdir()
            head_short = export(head, Path(tmp) / "head")
            after = Path(tmp) / "head"
        else:
            head_short = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
            status = ["git", "status", "--porcelain", "--untracked-files=no"]
            if subprocess.run(status, cwd=ROOT, capture_output=True, text=True).stdout.strip():
                head_short += "+changes"
        trees = {"before": (Path(tmp) / "base", "ours"), "after": (after, "ours"), "floor": (ROOT, "floor")}
        for rep in range(repeats):
            for pos, variant in enumerate(rotated(VARIANTS, rep)):
                tree, kind = trees[variant]
                r = run_in(tree, kind, calls, emu, window_s)
                r["variant"], r["repeat"], r["order"] = variant, rep, pos
                runs.append(r)
                say(f"  r{rep + 1} {variant:6s}: {1000 * r['cpu_per_call_s']:.2f} ms CPU per call-second, reply p50 {r['reply_ms']['p50']} ms, paced {r['paced']}")
    by = {(r["variant"], r["repeat"]): r for r in runs}
    overhead: dict[str, list[float]] = {"before": [], "after": []}
    ratios = []
    for rep in range(repeats):
        floor = by[("floor", rep)]["cpu_per_call_s"]
        o = {v: 1000 * (by[(v, rep)]["cpu_per_call_s"] - floor) for v in overhead}
        for v in overhead:
            overhead[v].append(o[v])
        if o["before"] > 0:
            ratios.append(o["after"] / o["before"])
    return {
        "base": base_short,
        "head": head_short,
        "calls": calls,
        "repeats": repeats,
        "window_s": window_s,
        "runs": runs,
        "cpu_ms": {v: _stat([1000 * r["cpu_per_call_s"] for r in runs if r["variant"] == v]) for v in VARIANTS},
        "overhead_ms": {v: _stat(overhead[v]) for v in overhead},
        "ratio": _stat(ratios, 3),
        "reply_p50_ms": {v: _stat([r["reply_ms"]["p50"] for r in runs if r["variant"] == v and r["reply_ms"]["p50"] is not None], 1) for v in VARIANTS},
        "paced": {v: all(r["paced"] for r in runs if r["variant"] == v) for v in VARIANTS},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="the commit to compare this tree against")
    p.add_argument("--head", help="the commit to measure as 'after' (default: this tree as it is)")
    p.add_argument("--repeats", type=int, default=4)
    p.add_argument("--calls", type=int, default=8)
    p.add_argument("--window-s", type=float, default=8.0)
    p.add_argument("--json", type=Path, default=ROOT / "bench/revisions.json")
    args = p.parse_args(argv)
    result = measure(args.base, head=args.head, repeats=args.repeats, calls=args.calls, window_s=args.window_s)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"overhead over the floor, ms per call-second: before {result['overhead_ms']['before']}, after {result['overhead_ms']['after']}; after/before {result['ratio']}")
    print(f"result: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
