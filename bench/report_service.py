"""Sections of ``bench/REPORT.md`` about our service's own cost: what each kind does per
call-second (:mod:`bench.hot_path`), and our service before and after a change
(:mod:`bench.revisions`)."""

from __future__ import annotations

from bench.report_sections import _f, _spread

COUNT_ROWS = (
    ("Live API messages sent", "messages sent to the Live API"),
    ("Live API messages received", "messages received from the Live API"),
    ("socket writes", "socket writes"),
    ("frame hops", "frame hops (a frame queued into a processor)"),
    ("frame hops: InputAudioRawFrame", "... of them caller audio"),
    ("frame hops: TTSAudioRawFrame", "... of them reply audio"),
    ("frame hops: BotSpeakingFrame", "... of them the output transport's BotSpeakingFrame"),
    ("tasks created", "asyncio tasks created"),
    ("timers armed", "timers armed (loop.call_at)"),
)
CPU_ROWS = (
    ("service process_frame", "the service's process_frame (every frame it takes, sends included)"),
    ("caller audio path", "... the caller-audio path (checks, grouping, the send)"),
    ("audio message send", "... ... one realtimeInput message sent"),
    ("WebSocket send", "... ... ... of it the WebSocket send (frame, TLS record, socket write)"),
    ("service push_frame", "the service's pushes (caller audio on, reply frames out)"),
    ("server message handling", "a server message handled (translation, frames pushed)"),
    ("server event -> frames", "... the frames a server event means, pushed"),
    ("stages: caller audio", "other stages, caller audio frames"),
    ("stages: other frames", "other stages, every other frame (the reply's audio, text, BotSpeakingFrame)"),
)


def hot_path(hp: dict, cost_summary: dict | None) -> list[str]:
    """Counts per call-second for every kind, and where our service's CPU goes."""
    kinds = dict(hp["kinds"])
    label = {"ours": "ours", "builtin": "built-in", "passthrough": "floor: pass-through"}
    ba = hp.get("before_after")
    if ba:
        kinds["ours_before"], kinds["ours_after"] = ba["before"], ba["after"]
        label["ours_before"] = f"ours at `{ba['commit']}` (before; median of {ba['repeats']})"
        label["ours_after"] = f"ours now (after; median of {ba['repeats']})"
    names = [k for k in ("ours_before", "ours_after", "ours", "builtin", "passthrough") if k in kinds]
    out = [
        "## Where our CPU goes, per call-second",
        "",
        f"`bench/hot_path.py`: the cost race's calls ({hp['calls']} at once, {hp['window_s']} s window), one kind "
        "after the other in one process, with counters and CPU timers (`time.process_time` around each "
        "call) wrapped around Pipecat's, the SDK's and our functions. Counting costs CPU: the kinds' "
        "totals here are higher than in the race, and nested rows include their children and the "
        "timers' own cost; read them against each other, not against section 2. The columns ours, "
        "built-in and pass-through ran one after the other in one process; "
        + ("the before and after columns are our service at the base commit and now, each in fresh "
           "processes, alternating, the medians of their runs (a shared machine's load moves from one "
           "minute to the next, so only runs side by side compare)." if ba else ""),
        "",
        "| per call-second | " + " | ".join(label[k] for k in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key, text in COUNT_ROWS:
        out.append(f"| {text} | " + " | ".join(_f(kinds[k]["per_call_s"].get(key, 0.0)) for k in names) + " |")
    out.append("| CPU ms per call-second, counted run | " + " | ".join(_f(kinds[k]["cpu_ms_per_call_s"], 2) for k in names) + " |")
    out += [
        "",
        "CPU inside each part, ms per call-second (calls per call-second, us per call):",
        "",
        "| part | " + " | ".join(label[k] for k in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key, text in CPU_ROWS:
        cells = []
        for k in names:
            row = kinds[k]["cpu_ms_per_call_s_in"].get(key)
            cells.append(f"{row['ms']:.2f} ({row['calls']:.1f}, {row['us_each']:.0f} us)" if row else "-")
        if any(c != "-" for c in cells):
            out.append(f"| {text} | " + " | ".join(cells) + " |")
    out += ["", *_why(hp, cost_summary), ""]
    return out


def _why(hp: dict, cost_summary: dict | None) -> list[str]:
    """The measured reason the overhead goal stands where it does, from the figures above."""
    kinds = hp["kinds"]
    if not {"ours", "builtin", "passthrough"} <= set(kinds):
        return []
    ours, builtin, floor = (kinds[k] for k in ("ours", "builtin", "passthrough"))
    cpu = ours["cpu_ms_per_call_s_in"]
    over = ours["cpu_ms_per_call_s"] - floor["cpu_ms_per_call_s"]
    service = cpu.get("service process_frame", {}).get("ms", 0.0) + cpu.get("server message handling", {}).get("ms", 0.0)
    send = cpu.get("audio message send", {}).get("ms", 0.0)
    reply_stages = cpu.get("stages: other frames", {}).get("ms", 0.0)
    same = all(
        abs(ours["per_call_s"].get(k, 0) - builtin["per_call_s"].get(k, 0)) <= 0.1 * max(1.0, builtin["per_call_s"].get(k, 0))
        for k in ("frame hops", "tasks created", "timers armed", "Live API messages received")
    )
    lines = [
        "What this says about the overhead goal. "
        + (
            "Both services do the same work in the pipeline per call-second: the same frame hops, tasks and "
            "timers and the same messages from the Live API"
            + (" (ours sends fewer to it). " if ours["per_call_s"].get("Live API messages sent", 0) < builtin["per_call_s"].get("Live API messages sent", 0) else ". ")
            if same
            else ""
        )
        + f"In the counted run ours is {over:.1f} ms per call-second over the pass-through floor. Of that, its "
        f"own functions (process_frame with the sends, and server messages handled) take {service:.1f} ms, "
        f"{send:.1f} of them the realtimeInput sends, whose cost is per message (a WebSocket frame, a TLS "
        f"record, a socket write). The other stages spend {reply_stages:.1f} ms on the reply's frames "
        "(reply audio through the output transport and the assistant aggregator, its text, and the "
        "BotSpeakingFrame the output transport sends up and down the pipeline every few chunks), and the "
        "output transport's audio task and the event loop's socket reads (TLS, WebSocket parsing) take "
        "the rest: work any service that speaks causes, the built-in identically, and none of it "
        "ours to remove without changing what the pipeline does with a reply."
    ]
    if cost_summary and cost_summary.get("overhead_ms"):
        ov = cost_summary["overhead_ms"]
        o, b = ov.get("ours"), ov.get("builtin")
        if o and b:
            gap = o["median"] - b["median"] / 2
            lines += [
                "",
                f"In the race (section 2) the built-in's overhead is {b['median']:.2f} ms (median), so half of it "
                f"is {b['median'] / 2:.2f} ms; ours is {o['median']:.2f}"
                + (
                    f". The part both pay for a spoken reply does not shrink with the service, so reaching half "
                    f"would need our own part to shrink by {gap:.2f} ms."
                    if gap > 0
                    else ", under half in medians; the goal is judged on the median of the per-repeat ratios "
                    "(section 2), which moves with the built-in's own spread from repeat to repeat."
                ),
            ]
    return lines


def revisions(rv: dict) -> list[str]:
    """Our service before and after this round's changes, side by side."""
    out = [
        "## 2g. Our service before and after this round's changes",
        "",
        f"`bench/revisions.py`: our service at commit `{rv['base']}` (before) and at `{rv['head']}` (after), and "
        f"the floor, {rv['calls']} calls, {rv['repeats']} repeats, each run a fresh process, the order rotated "
        f"every repeat, {rv['window_s']} s windows. Overhead: CPU per call-second minus the floor's in the same "
        "repeat."
        + (
            " `+changes`: the tree had uncommitted edits when it was measured (the commit after it in the "
            "log holds them)."
            if rv["head"].endswith("+changes")
            else ""
        ),
        "",
        "| variant | CPU ms per call-s | overhead over the floor, ms | reply p50 ms | paced in every repeat |",
        "|---|---|---|---|---|",
    ]
    for v in ("before", "after", "floor"):
        out.append(
            f"| {v} | {_spread(rv['cpu_ms'][v])} | {_spread(rv['overhead_ms'].get(v))} | "
            f"{_spread(rv['reply_p50_ms'][v], 1)} | {'yes' if rv['paced'][v] else 'NO'} |"
        )
    out += ["", f"Overhead after / before, per repeat: {_spread(rv['ratio'], 3)}", ""]
    return out
