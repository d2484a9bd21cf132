"""The benchmark's plots (PNG, matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench.rig import KINDS, LABELS, SERVICES  # noqa: E402

COLORS = {"ours": "#1f77b4", "builtin": "#ff7f0e", "floor": "#2ca02c", "passthrough": "#7f7f7f"}


def latency(result: dict, path: Path) -> Path:
    """Per-turn client overhead of both services, side by side (box plot and every point)."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    data = [[t["overhead_ms"] for t in result["turns"][k] if t["overhead_ms"] is not None] for k in SERVICES]
    ax.boxplot(data, showfliers=False, widths=0.5)
    ax.set_xticks(range(1, len(SERVICES) + 1), [LABELS[k] for k in SERVICES])
    for i, (kind, values) in enumerate(zip(SERVICES, data, strict=True), start=1):
        jitter = [i + 0.18 * ((j * 7919) % 100 / 100 - 0.5) for j in range(len(values))]
        ax.scatter(jitter, values, s=9, alpha=0.6, color=COLORS[kind])
    cfg = result["config"]
    ax.set_ylabel("overhead per turn, ms")
    ax.set_title(
        f"Caller speech end -> first bot audio, minus {cfg['silence_ms']} ms VAD silence and "
        f"{cfg['think_ms']} ms think", fontsize=9
    )
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def cost(result: dict, path: Path) -> Path:
    """CPU per call-second and RSS against N for every kind: median, bars from min to max."""
    fig, (cpu_ax, mem_ax) = plt.subplots(1, 2, figsize=(10, 4))
    steps = result["steps"]
    for kind in result.get("kinds", KINDS):
        runs = [r for r in result["runs"] if r["service"] == kind]
        if not runs:
            continue
        for ax, value in ((cpu_ax, lambda r: 1000 * r["cpu_per_call_s"]), (mem_ax, lambda r: r["rss_mib"])):
            med, lo, hi, xs = [], [], [], []
            for n in steps:
                vals = [value(r) for r in runs if r["calls"] == n]
                if not vals:
                    continue
                vals.sort()
                m = vals[len(vals) // 2] if len(vals) % 2 else (vals[len(vals) // 2 - 1] + vals[len(vals) // 2]) / 2
                xs.append(n)
                med.append(m)
                lo.append(m - vals[0])
                hi.append(vals[-1] - m)
            ax.errorbar(xs, med, yerr=[lo, hi], fmt="o-", capsize=3, color=COLORS.get(kind), label=LABELS.get(kind, kind))
    cpu_ax.set_xlabel("concurrent calls (8 kHz in, 24 kHz out)")
    cpu_ax.set_ylabel("bot process CPU, ms per call-second")
    cpu_ax.set_ylim(bottom=0)
    mem_ax.set_xlabel("concurrent calls")
    mem_ax.set_ylabel("bot process RSS, MiB")
    for ax in (cpu_ax, mem_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Cost per call: median of {result.get('repeats', 1)} interleaved repeats, bars min-max", fontsize=10)
    return _save(fig, path)

def switch_gap(rows: list[dict], path: Path) -> Path:
    """Persona switch gap per model profile and method (p50 bar, p95 whisker)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [f"{r['model'].replace('gemini-', '').split('-preview')[0]}\n{r['method']}" for r in rows]
    p50 = [r["p50_ms"] for r in rows]
    p95 = [r["p95_ms"] for r in rows]
    ax.bar(range(len(rows)), p50, color=COLORS["ours"], yerr=[[0] * len(rows), [b - a for a, b in zip(p50, p95, strict=True)]], capsize=4)
    ax.set_xticks(range(len(rows)), labels, fontsize=8)
    ax.set_ylabel("persona update -> new session ready, ms (bar p50, whisker p95)")
    ax.set_title("Persona switch gap (ours; the built-in service cannot switch)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def seams(result: dict, path: Path) -> Path:
    """Caller audio gap at goAway seams, and time to the bot's next audio after a 1011."""
    fig, (go_ax, fault_ax) = plt.subplots(1, 2, figsize=(10, 4))
    names = list(result["go_away"])
    values = [[s["caller_gap_ms"] for s in result["go_away"][n]["seams"]] for n in names]
    for i, v in enumerate(values, start=1):
        go_ax.scatter([i] * len(v), v, s=25, color=COLORS["builtin" if names[i - 1] == "builtin" else "ours"])
    go_ax.set_xticks(range(1, len(names) + 1), names)
    go_ax.set_yscale("symlog", linthresh=10)
    go_ax.set_ylabel("no session hearing the caller, ms")
    go_ax.set_title("goAway seams", fontsize=10)
    kinds = list(result["fault_1011"])
    rec = [[s["recovery_ms"] for r in result["fault_1011"][k] for s in r["seams"] if s["recovery_ms"] is not None] for k in kinds]
    for i, (kind, v) in enumerate(zip(kinds, rec, strict=True), start=1):
        fault_ax.scatter([i] * len(v), v, s=25, color=COLORS[kind])
    fault_ax.set_xticks(range(1, len(kinds) + 1), [LABELS[k] for k in kinds], fontsize=8)
    fault_ax.set_ylabel("1011 close mid-reply -> bot audio again, ms")
    fault_ax.set_title("1011 recovery", fontsize=10)
    for ax in (go_ax, fault_ax):
        ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def twilio(result: dict, path: Path) -> Path:
    """The Twilio bot against Pipecat's stock setup: CPU per call-second (every round) and latency."""
    fig, (cpu_ax, lat_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    cpu = result["cpu"]
    names = {
        "twilio": "ours",
        "stock": "stock +\nbuilt-in",
        "before_40ms": "ours before:\n20 ms chunks",
        "before_audio_end": "ours before:\ncaller audio\npast service",
        "ours_base": "ours at the\nbase commit",
    }
    for i, (p, vals) in enumerate(cpu["per_round"].items()):
        cpu_ax.scatter([i] * len(vals), vals, color=COLORS["ours" if p == "twilio" else "builtin"])
        cpu_ax.hlines(sorted(vals)[len(vals) // 2], i - 0.2, i + 0.2, color="black")
    cpu_ax.set_xticks(range(len(cpu["per_round"])), [names.get(p, p) for p in cpu["per_round"]], fontsize=8)
    cpu_ax.set_ylabel(f"bot CPU, ms per call-second ({cpu['calls']} calls at once)")
    cpu_ax.set_ylim(bottom=0)
    paths = result["latency"]["paths"]
    labels = list(paths)
    p50 = [paths[p]["total_ms"]["p50"] or 0 for p in labels]
    p95 = [paths[p]["total_ms"]["p95"] or 0 for p in labels]
    lat_ax.bar(range(len(labels)), p50, color="#1f77b4", label="p50")
    lat_ax.scatter(range(len(labels)), p95, color="black", marker="_", s=300, label="p95")
    lat_ax.set_xticks(range(len(labels)), labels)
    lat_ax.set_ylabel("caller speech end -> first bot audio, ms")
    lat_ax.legend(fontsize=8)
    for ax in (cpu_ax, lat_ax):
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Twilio bot: CPU per call-second and reply latency", fontsize=10)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
