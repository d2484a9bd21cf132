"""The benchmark report: ratios, targets and the cost summary from measured results."""

from __future__ import annotations

from bench.report import cost_summary, write

MACHINE = {"date": "2026-11-22", "commit": "abc1234", "cpu": "a CPU", "cores": 2, "python": "3.11", "pipecat": "1.14.0", "genai": "1.x"}


def _run(service, calls, cpu, rss, paced=True):
    return {
        "service": service,
        "calls": calls,
        "cpu_per_call_s": cpu,
        "process_cores": cpu * calls,
        "rss_mib": rss,
        "input_late_share": 0.0,
        "underruns": 0,
        "bot_chunks": 100 * calls,
        "reply_ms": {"p50": 700.0},
        "paced": paced,
        "emulator_cores": 0.1,
    }


def _latency(ours_p95, builtin_p95):
    def summary(p95):
        return {"turns": 10, "answered": 10, "overhead_ms": {"p50": 3.0, "p95": p95, "mean": 3.0}, "stages_ms": {"server": {"p50": 202.0}}}

    return {
        "config": {"think_ms": 200, "silence_ms": 500, "rounds": 2, "turns_per_call": 5, "offset_s": 1.37},
        "turns": {"ours": [], "builtin": []},
        "summary": {"ours": summary(ours_p95), "builtin": summary(builtin_p95)},
        "ratio": {"p50": 1.0, "p95": round(ours_p95 / builtin_p95, 3)},
    }


def _race(paced_builtin_32: bool = True) -> dict:
    """Two repeats of the four kinds at N=8 and N=32 (CPU in s per call-second, RSS in MiB)."""
    cpu = {"ours": (0.020, 0.016), "builtin": (0.028, 0.024), "floor": (0.012, 0.010), "passthrough": (0.013, 0.011)}
    rss = {"ours": (120, 160), "builtin": (121, 175), "floor": (110, 118), "passthrough": (110, 119)}
    runs = []
    for rep in (0, 1):
        for i, n in enumerate((8, 32)):
            for kind in cpu:
                jitter = 0.001 * rep
                paced = not (kind == "builtin" and n == 32 and not paced_builtin_32)
                r = _run(kind, n, cpu[kind][i] + jitter, rss[kind][i] + rep, paced=paced)
                r["repeat"] = rep
                runs.append(r)
    from bench.cost import summarize

    race = {"steps": [8, 32], "repeats": 2, "kinds": list(cpu), "window_s": 8.0, "spread_s": 4.0, "runs": runs}
    race["summary"] = summarize(race)
    return race


def test_the_race_reports_overhead_over_the_floor_and_its_spread():
    race = _race()
    s = cost_summary(race)
    assert s["at_calls"] == 32
    assert s["cpu_ms"]["ours"]["median"] == 16.5 and s["cpu_ms"]["ours"]["min"] == 16.0
    # Overhead: a service's CPU minus the floor's, repeat by repeat: ours 6, built-in 14.
    assert s["overhead_ms"]["ours"]["median"] == 6.0 and s["overhead_ms"]["builtin"]["median"] == 14.0
    assert s["overhead_ratio"]["median"] == round(6 / 14, 3)
    # Memory per call is the slope from the smallest to the largest N, per repeat.
    assert s["mib_per_call"]["ours"]["median"] == round(40 / 24, 2)
    text = write({"machine": MACHINE, "cost": race}, {"cost": "cost.png"})
    assert "service overhead at most 0.5x the built-in's (median of per-repeat ratios): **met**" in text
    assert "memory per added call at most 2.0 MiB (median): **met**" in text
    assert "| floor: no service | 32 |" in text and "![cost](cost.png)" in text


def test_the_race_is_judged_where_every_kind_kept_pace():
    assert cost_summary(_race(paced_builtin_32=False))["at_calls"] == 8


def test_a_missed_latency_target_is_reported_as_missed():
    missed = write({"machine": MACHINE, "latency": _latency(9.0, 4.0)}, {})
    assert "**MISSED**" in missed
    met = write({"machine": MACHINE, "latency": _latency(4.5, 4.0)}, {})  # within a millisecond
    assert "**met**" in met and "MISSED" not in met


def test_clicks_in_over_one_percent_of_bot_chunks_break_pacing():
    from bench.cost import rederive

    clicking = {**_run("ours", 48, 0.02, 220), "underruns": 60}  # 60 of 4800 chunks: 1.25%
    fine = {**_run("builtin", 48, 0.02, 220), "underruns": 40}
    got = rederive({"runs": [clicking, fine]})
    assert [r["paced"] for r in got["runs"]] == [False, True]
