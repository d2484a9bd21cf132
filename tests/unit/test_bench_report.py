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


def test_cost_is_compared_at_the_largest_n_both_services_kept_pace():
    cost = {
        "steps": [1, 8, 16],
        "max_paced": {"ours": 16, "builtin": 8},
        "runs": [
            _run("ours", 1, 0.040, 110),
            _run("builtin", 1, 0.045, 111),
            _run("ours", 8, 0.020, 138),
            _run("builtin", 8, 0.025, 146),
            _run("ours", 16, 0.019, 166),
            _run("builtin", 16, 0.030, 180, paced=False),
        ],
    }
    s = cost_summary(cost)
    assert s["at_calls"] == 8
    assert s["ours"]["cpu_ms_per_call_s"] == 20.0 and s["builtin"]["cpu_ms_per_call_s"] == 25.0
    assert s["ours"]["calls_per_core"] == 50.0
    # Memory per call is the slope over N, not the first call's lazy imports.
    assert s["ours"]["mib_per_call"] == round((166 - 110) / 15, 2)
    text = write({"machine": MACHINE, "cost": cost}, {"cost": "cost.png"})
    assert "| CPU per call-second at N=8, ms | 20.00 | 25.00 | 0.80 | <= 1.2 |" in text
    assert "CPU per call within 1.2x of the built-in's: **met**" in text
    assert "![cost](cost.png)" in text


def test_a_missed_latency_target_is_reported_as_missed():
    missed = write({"machine": MACHINE, "latency": _latency(9.0, 4.0)}, {})
    assert "**MISSED**" in missed
    met = write({"machine": MACHINE, "latency": _latency(4.5, 4.0)}, {})  # within a millisecond
    assert "**met**" in met and "MISSED" not in met


def test_clicks_in_over_one_percent_of_bot_chunks_break_pacing():
    from bench.cost import rederive

    clicking = {**_run("ours", 48, 0.02, 220), "underruns": 60}  # 60 of 4800 chunks: 1.25%
    fine = {**_run("builtin", 48, 0.02, 220), "underruns": 40}
    got = rederive({"runs": [clicking, fine], "max_paced": {}})
    assert [r["paced"] for r in got["runs"]] == [False, True]
    assert got["max_paced"] == {"ours": None, "builtin": 48}
