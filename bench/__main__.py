"""``make bench``: our service against Pipecat's built-in one, same run, same emulator, same audio.

    .venv/bin/python -m bench [--quick] [--only latency,cost,profile,switch,seams] [--out bench]
    .venv/bin/python -m bench --only revisions --base <commit>   (our service before / after)

Writes ``REPORT.md``, ``results.json`` and one PNG per measure into ``--out``. The full run
takes about 20 minutes on two cores; ``--quick`` (a smoke run, a few minutes) uses fewer turns,
calls and switches, and its figures are not worth quoting.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from loguru import logger

ROOT = Path(__file__).resolve().parent.parent
MEASURES = ("latency", "cost", "floor", "callstart", "twilio", "twiliocpu", "cushion", "micro", "hotpath", "profile", "switch", "seams", "revisions")


def machine() -> dict:
    """What the figures were measured on."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": dt.date.today().isoformat(),
        "commit": commit or "unknown",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "pipecat": version("pipecat-ai"),
        "genai": version("google-genai"),
    }


def run_bounded(coro, grace_s: float = 10.0):
    """``asyncio.run`` that does not wait forever for tasks left behind.

    A call the built-in service never ends (it defers the hang-up until a bot turn cut by a
    close "finishes") is cancelled by :mod:`bench.seams`, but some of its tasks ignore
    cancellation; ``asyncio.run`` would wait for them at exit for ever. They get ``grace_s``.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            _done, stuck = loop.run_until_complete(asyncio.wait(pending, timeout=grace_s))
            if stuck:
                print(f"   ({len(stuck)} tasks of a call that would not end were left behind)", flush=True)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def run(only: set[str], quick: bool, out: Path, base: str | None = None) -> dict:
    """Run the chosen measures and write the report; returns the results (``base``: the commit
    ``revisions`` compares this tree with; without it that measure is skipped)."""
    from bench import call_start, cost, cushion, hot_path, micro, latency_overhead, plots, report, revisions, seams, switch_gap, telephony, telephony_cpu, twilio_messages

    out.mkdir(parents=True, exist_ok=True)
    # A run of some measures keeps the others' stored results (each says when it was measured).
    stored = out / "results.json"
    results: dict = json.loads(stored.read_text()) if stored.exists() and only != set(MEASURES) else {}
    here = machine()
    if "machine" in results and "measured" not in results:
        results["measured"] = {k: results["machine"] for k in MEASURES if k in results or (k == "switch" and "switch_gap" in results)}
    results.setdefault("measured", {})
    results["machine"], results["quick"] = here, quick
    pngs: dict[str, str] = {}

    def save(measure: str) -> None:
        # After every measure, so a run cut short keeps what it finished.
        results["measured"][measure] = here
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
        (out / "REPORT.md").write_text(report.write(results, pngs))

    for name, key in (("latency", "latency"), ("cost", "cost"), ("twilio", "twilio"), ("switch_gap", "switch_gap"), ("seams", "seams")):
        if results.get(key) and (out / f"{name}.png").exists():
            pngs[name] = f"{name}.png"
    if "latency" in only:
        print("1. response latency overhead (both services side by side)", flush=True)
        results["latency"] = run_bounded(latency_overhead.measure(rounds=1 if quick else 4, turns=3 if quick else 10))
        pngs["latency"] = plots.latency(results["latency"], out / "latency.png").name
        save("latency")
    if "cost" in only:
        print("2. cost per call (N concurrent calls, a fresh process per service and N)", flush=True)
        results["cost"] = cost.measure(
            steps=(1, 4) if quick else cost.DEFAULT_STEPS,
            repeats=1 if quick else cost.DEFAULT_REPEATS,
            window_s=5.0 if quick else cost.WINDOW_S,
        )
        pngs["cost"] = plots.cost(results["cost"], out / "cost.png").name
        save("cost")
    if "floor" in only:
        print("2b. the floor before and after each optimization", flush=True)
        results["floor"] = cost.floor_variants(calls=4 if quick else 16, repeats=1 if quick else 2, window_s=5.0 if quick else 8.0)
        save("floor")
    if "callstart" in only:
        print("2c. call start: event-loop lag other calls see", flush=True)
        results["call_start"] = call_start.run_all(repeats=1 if quick else 2)
        save("callstart")
    if "twilio" in only:
        print("2d. the Twilio bot end to end: calls per core, ours vs Pipecat's stock setup", flush=True)
        cpu = run_bounded(
            telephony_cpu.measure_concurrent(
                rounds=1 if quick else 3, calls=2 if quick else 4, paths=telephony_cpu.PATHS + tuple(telephony_cpu.BEFORE)
            )
        )
        print("    latency: wideband vs our Twilio path vs the stock audio path", flush=True)
        latency = run_bounded(telephony.benchmark(rounds=1 if quick else 2))
        print("    messages, writes and frame hops per call-second", flush=True)
        messages = run_bounded(twilio_messages.measure(calls=2))
        results["twilio"] = {"cpu": cpu, "latency": {k: latency[k] for k in ("paths", "comparison")}, "messages": messages}
        pngs["twilio"] = plots.twilio(results["twilio"], out / "twilio.png").name
        save("twilio")
    if "twiliocpu" in only and results.get("twilio"):
        print("2d. the Twilio bot's calls per core again" + (f", with ours at {base} beside it" if base else ""), flush=True)
        import tempfile

        with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
            tree = None
            if base:
                short = revisions.export(base, Path(tmp))
                tree = Path(tmp)
            cpu = run_bounded(
                telephony_cpu.measure_concurrent(
                    rounds=1 if quick else 3, calls=2 if quick else 4,
                    paths=telephony_cpu.PATHS + tuple(telephony_cpu.BEFORE), base_tree=tree,
                )
            )  # fmt: skip
        if base:
            cpu["base"] = short
        results["twilio"]["cpu"] = cpu
        pngs["twilio"] = plots.twilio(results["twilio"], out / "twilio.png").name
        save("twiliocpu")
    if "cushion" in only:
        print("2f. the playout cushion under slow reply delivery, on vs off", flush=True)
        results["cushion"] = run_bounded(cushion.measure(repeats=1 if quick else 3))
        save("cushion")
    if "micro" in only:
        print("2e. per message and per chunk, before and after", flush=True)
        results["micro"] = micro.measure()
        save("micro")
    if "revisions" in only and base:
        print(f"2g. our service before ({base}) and after (this tree)", flush=True)
        results["revisions"] = revisions.measure(base, repeats=1 if quick else 5)
        save("revisions")
    if "hotpath" in only:
        print("   what each kind does per call-second, and where our service's CPU goes", flush=True)
        results["hot_path"] = run_bounded(hot_path.measure(calls=2 if quick else 8))
        if base:
            print(f"    ... and our service at {base} and at this tree, alternating", flush=True)
            results["hot_path"]["before_after"] = hot_path.before_after(base, calls=2 if quick else 8, repeats=1 if quick else 2)
        save("hotpath")
    if "profile" in only:
        print("   profiling our service", flush=True)
        results["profile"] = cost.profile(calls=2 if quick else 8)
        save("profile")
    if "switch" in only:
        print("3a. persona switch gap (ours)", flush=True)
        results["switch_gap"] = run_bounded(switch_gap.measure_all(4 if quick else 30))
        pngs["switch_gap"] = plots.switch_gap(results["switch_gap"], out / "switch_gap.png").name
        save("switch")
    if "seams" in only:
        print("3b. goAway seams and 1011 recovery (both services)", flush=True)
        results["seams"] = run_bounded(seams.measure(go_away_turns=3 if quick else 6, fault_repeats=1 if quick else 3))
        pngs["seams"] = plots.seams(results["seams"], out / "seams.png").name
        save("seams")
    print(f"report: {out / 'REPORT.md'}  (plots and results.json beside it)", flush=True)
    return results


def report_only(out: Path) -> None:
    """Re-write the report and plots from ``results.json`` (after a change to the report)."""
    from bench import cost, plots, report

    results = json.loads((out / "results.json").read_text())
    pngs: dict[str, str] = {}
    if results.get("latency"):
        pngs["latency"] = plots.latency(results["latency"], out / "latency.png").name
    if results.get("cost"):
        results["cost"] = cost.rederive(results["cost"])
        pngs["cost"] = plots.cost(results["cost"], out / "cost.png").name
    if results.get("twilio"):
        pngs["twilio"] = plots.twilio(results["twilio"], out / "twilio.png").name
    if results.get("switch_gap"):
        pngs["switch_gap"] = plots.switch_gap(results["switch_gap"], out / "switch_gap.png").name
    if results.get("seams"):
        pngs["seams"] = plots.seams(results["seams"], out / "seams.png").name
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    (out / "REPORT.md").write_text(report.write(results, pngs))
    print(f"report: {out / 'REPORT.md'}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a short smoke run (figures not worth quoting)")
    p.add_argument("--only", default=",".join(MEASURES), help=f"comma-separated subset of {','.join(MEASURES)}")
    p.add_argument("--out", type=Path, default=ROOT / "bench", help="where REPORT.md and the plots go")
    p.add_argument("--report-only", action="store_true", help="re-write REPORT.md and the plots from results.json")
    p.add_argument("--base", help="for 'revisions': the commit to compare this tree with")
    args = p.parse_args(argv)
    if args.report_only:
        report_only(args.out)
        return 0
    only = {m.strip() for m in args.only.split(",") if m.strip()}
    unknown = only - set(MEASURES)
    if unknown:
        p.error(f"unknown measure(s): {', '.join(sorted(unknown))}")
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    run(only, args.quick, args.out, base=args.base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
