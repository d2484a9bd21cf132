"""Sections of ``bench/REPORT.md`` for the floor, call starts, the Twilio bot and per-message costs."""

from __future__ import annotations


def _f(value, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}{suffix}"


def _spread(stat: dict | None, digits: int = 2) -> str:
    """``median [min-max]`` of a summary stat."""
    if not stat:
        return "-"
    return f"{stat['median']:.{digits}f} [{stat['min']:.{digits}f}-{stat['max']:.{digits}f}]"


def _floor(floor: dict) -> list[str]:
    from bench.cost import FLOOR_LABELS

    out = [
        "## 2b. The floor before and after each optimization",
        "",
        f"The floor pipeline (no service) at N={floor['calls']}, {floor['repeats']} repeats, the variants interleaved "
        f"and their order rotated, {floor['window_s']} s windows. Each row adds one change to the row above.",
        "",
        "| variant | CPU ms per call-s, median [min-max] | paced in every repeat |",
        "|---|---|---|",
    ]
    for name, stat in floor["cpu_ms"].items():
        out.append(f"| {FLOOR_LABELS.get(name, name)} | {_spread(stat)} | {'yes' if floor['paced'][name] else 'NO'} |")
    return out + [""]


def _call_start(cs: dict) -> list[str]:
    out = [
        "## 2c. Call start: the stall other calls see",
        "",
        "A process runs 8 calls of our service; a probe sleeps 1 ms at a time and records how late it "
        "wakes. Then 6 more calls start 1.5 s apart; per start, the worst lag in the 1.5 s after it. "
        "`before`: every call builds its own SSL context and genai Client (the service before "
        "`clients.shared_client`); `after`: one of each per process. Each mode in fresh processes, "
        "interleaved. Building one genai Client with default settings (no SSL context given, as for "
        f"Google's endpoint) took {cs['default_client_build_cpu_ms']} ms of CPU here.",
        "",
        "| mode | worst lag per start, median ms | max ms | starts | baseline worst lag (no start), median ms |",
        "|---|---|---|---|---|",
    ]
    for mode, v in cs["summary"].items():
        out.append(
            f"| {mode} | {v['start_lag_ms']['median']:.1f} | {v['start_lag_ms']['max']:.1f} | {v['start_lag_ms']['n']} | "
            f"{v['baseline_ms']['median']:.1f} |"
        )
    return out + [""]


def _twilio(tw: dict, plot: str | None) -> list[str]:
    cpu = tw["cpu"]
    out = [
        "## 2d. The Twilio bot end to end",
        "",
        f"`bench/telephony_cpu.py`: our Twilio bot (FastAPI WebSocket transport, our serializer, our audio path, "
        "our service) against Pipecat's stock Twilio setup with its built-in service (`bench/stock_twilio.py`), "
        f"{cpu['calls']} concurrent streamdouble calls per app and round, {cpu['rounds']} rounds; "
        + (
            "each app in a process of its own and every app's calls placed at the same moment (the machine "
            "was shared with other engineers' test runs: what their load costs falls on all apps in the same "
            "seconds), the emulator and the callers in processes of their own; each app's process CPU "
            "(`/proc`, user + system) from the round's start to its last pipeline's end, "
            if cpu.get("concurrent")
            else "the apps in one process, one app's calls at a time, the order rotating; the emulator and "
            "the callers in processes of their own; the bots' process CPU, "
        )
        + "per second of the conversation (caller audio streamed).",
        "",
        "| app | CPU ms per call-second, median [min-max] | calls per core |",
        "|---|---|---|",
    ]
    labels = {
        "twilio": "ours",
        "stock": "Pipecat stock + built-in",
        "floor": "floor: Pipecat's transport + serializer, no service",
        "before_40ms": "ours before: 20 ms output chunks",
        "before_audio_end": "ours before: caller audio on past the service",
        "ours_base": f"ours at `{cpu.get('base', 'the base commit')}` (before this round's service changes)",
    }
    for p, label in labels.items():
        if p in cpu["cpu_ms_per_call_s"]:
            out.append(f"| {label} | {_spread(cpu['cpu_ms_per_call_s'][p])} | {_f(cpu['calls_per_core'][p])} |")
    out += ["", f"Calls per core, ours / stock, per round: {_spread(cpu['calls_per_core_ratio'], 3)}"]
    for p, st in cpu.get("before_over_after", {}).items():
        out += ["", f"Before / after ({labels.get(p, p)} / ours), CPU per call-second, per round: {_spread(st, 3)}"]
    if cpu.get("over_floor_ms"):
        o = cpu["over_floor_ms"]
        out += [
            "",
            f"Above the floor (the service and its audio path), ms per call-second: ours {_spread(o['twilio'])}, "
            f"stock + built-in {_spread(o['stock'])}. The floor is what any Pipecat Twilio bot pays before it "
            "answers (uvicorn, the WebSocket, the serializer, the transport, the aggregators): it bounds how "
            "far a better service and audio path can move calls per core.",
        ]
    out += [""]
    msgs = tw.get("messages")
    if msgs:
        rows = (
            ("live_messages", "messages sent to the Live API"),
            ("twilio_messages", "messages sent to the caller (Twilio)"),
            ("socket_writes", "socket writes (all sockets of the process)"),
            ("frame_hops", "frames queued into a processor"),
            ("frame_hops_InputAudioRawFrame", "... of them caller audio"),
            ("frame_hops_TTSAudioRawFrame", "... of them reply audio"),
        )
        ours, stock = msgs["per_call_s"]["twilio"], msgs["per_call_s"]["stock"]
        out += [
            "What each bot does per second of a call (`bench/twilio_messages.py`, "
            f"{msgs['calls']} calls per app, counters around the sends, writes and frame hops):",
            "",
            "| per call-second | ours | stock + built-in |",
            "|---|---|---|",
        ]
        out += [f"| {label} | {_f(ours.get(k))} | {_f(stock.get(k))} |" for k, label in rows]
        out += [
            "",
            "Why ours does not reach 1.5x: most of either bot's CPU above the floor is paid per message "
            "(a WebSocket frame, a TLS record, a socket write and the event-loop turns around each) and per "
            "frame hop (a queue, a task switch and a `process_frame` per processor). Ours sends the Live API "
            f"{_f(ours.get('live_messages'))} messages a second against {_f(stock.get('live_messages'))}: "
            "the built-in sends what Pipecat's soxr stream emits, ~95 ms blocks that also hold the server's "
            "end-of-speech 60-80 ms late, where ours sends a caller's speech onset, offset and the "
            "end-of-speech window frame by frame, so the server's turn decision waits for nothing (the "
            "latency table below); only speech (60 ms) and long silences (200 ms, past the window) go in "
            "groups. Grouping the window's frames would trade the latency goal for CPU.",
            "",
        ]
        cpu_ms, o = cpu["cpu_ms_per_call_s"], cpu.get("over_floor_ms")
        if o and "floor" in cpu_ms:
            need = cpu_ms["stock"]["median"] / 1.5 - cpu_ms["floor"]["median"]
            out += [
                f"The floor ({cpu_ms['floor']['median']:.2f} ms, Pipecat's transport, serializer and uvicorn) is "
                f"paid by both bots: 1.5x the stock bot's calls per core needs ours at "
                f"{cpu_ms['stock']['median'] / 1.5:.2f} ms in all, {need:.2f} ms above the floor, "
                f"{need / o['stock']['median']:.2f} of the stock bot's {o['stock']['median']:.2f}; ours is at "
                f"{o['twilio']['median']:.2f} ({o['twilio']['median'] / o['stock']['median']:.2f} of it).",
                "",
            ]
    paths = tw["latency"]["paths"]
    out += [
        "`bench/telephony.py` (one event loop, traced): caller speech end -> first bot audio written to the "
        "transport, on the same emulator (500 ms end-of-speech silence, 200 ms think). `stock` here is "
        "Pipecat's stock audio path (its serializer and transport resample, soxr VHQ) with our service.",
        "",
        "| path | turns answered | p50 ms | p95 ms |",
        "|---|---|---|---|",
    ]
    for p, s in paths.items():
        out.append(f"| {p} | {s['answered']}/{s['turns']} | {_f(s['total_ms']['p50'])} | {_f(s['total_ms']['p95'])} |")
    comp = tw["latency"]["comparison"]
    out += ["", "p50 minus wideband's: " + ", ".join(f"{k.split('_minus')[0]} {_f(v, 1, ' ms')}" for k, v in comp.items())]
    legs = {p: paths[p].get("legs_ms") for p in ("wideband", "twilio") if p in paths}
    if all(legs.values()) and len(legs) == 2:
        names = list(legs["twilio"])
        out += [
            "",
            "Per leg, p50 ms (wideband / twilio): "
            + ", ".join(f"{n} {_f(legs['wideband'][n]['p50'])} / {_f(legs['twilio'][n]['p50'])}" for n in names if n in legs["wideband"])
            + ". `server` is the emulator's side (its think time and first chunk), `silence` its end-of-speech wait; the legs that are ours are the other four.",
        ]
    if plot:
        out += ["", f"![twilio]({plot})"]
    return out + [""]


def _cushion(c: dict) -> list[str]:
    out = [
        "## 2f. The playout cushion under slow reply delivery",
        "",
        f"`bench/cushion.py`: the emulator streams every reply with `{c['pacing']}` pacing (0.85 x real time, "
        "a 0.3 s pause every 2 s of audio); per repeat, the same three-turn call (real speech) without a "
        f"cushion and with `LiveOptions(output_cushion_ms=...)`, side by side, {c['repeats']} repeats, model "
        f"`{c['model']}`. Underruns: silences of {c['gap_ms']:g} ms or more inside a reply as the output "
        "transport played it, per minute of reply audio. Added latency: per repeat, the median reply "
        "latency (caller speech end -> first bot audio played) minus the same repeat's without a cushion. "
        "Figures: median [min-max] over repeats.",
        "",
        "| cushion | underruns per minute of reply | silence inside replies, s per minute | reply latency, ms | added latency, ms | replies |",
        "|---|---|---|---|---|---|",
    ]
    for mode, m in c["modes"].items():
        name = "off" if m["cushion_ms"] is None else f"up to {m['cushion_ms']:g} ms"
        added = "-" if m["cushion_ms"] is None else _spread(m["added_latency_ms"], 0)
        out.append(
            f"| {name} | {_spread(m['underruns_per_min'], 0)} | {_spread(m['silent_s_per_min'], 2)} | "
            f"{_spread(m['reply_latency_ms'], 0)} | {added} | {m['replies']} |"
        )
    return out + [""]


def _micro(m: dict) -> list[str]:
    r, c, rs, cb = m["reply_in_us"], m["caller_out_us"], m["resample_us"], m["client_build_ms"]
    out = [
        "## 2e. Per message and per chunk, before and after (`bench/micro.py`)",
        "",
        "CPU per operation on this machine, median of 5 batches.",
        "",
        "| operation | before | after |",
        "|---|---|---|",
        f"| reply audio in (40 ms at 24 kHz, JSON -> LiveServerMessage), us | SDK {r['sdk']:.1f} (pydantic model_construct: {r['model_construct']:.1f}) | fast_wire {r['fast_wire']:.1f} |",
        f"| caller audio out (100 ms at 16 kHz -> JSON), us | SDK {c['sdk']:.1f} | fast_wire {c['fast_wire']:.1f} |",
        f"| permessage-deflate of that message (recorded speech), us | {m['deflate_per_message_us']:.1f} (median size after: {100 * m['deflate_ratio']:.0f}%) | 0 (not offered) |",
    ]
    if "media_in_us" in m:
        mi = m["media_in_us"]
        out.append(f"| caller media message in (Twilio JSON -> checked mu-law bytes), us | json.loads + model {mi['two_step']:.1f} | model_validate_json {mi['one_pass']:.1f} |")
    for key in ("8k->16k per 20 ms", "24k->8k per 40 ms"):
        out.append(
            f"| resample {key}, us | sinc_medium {rs['sinc_medium'][key]:.1f} | polyphase {rs['polyphase'][key]:.1f} (soxr VHQ, block-based: {rs['VHQ'][key]:.1f}) |"
        )
    out.append(f"| genai Client per call start, ms | {cb['default']:.1f} (default SSL) / {cb['shared_ssl_context']:.2f} (shared SSL context) | 0 (one per process) |")
    return out + [""]


def _tried() -> list[str]:
    return [
        "## What was tried and not kept",
        "",
        "- soxr's streaming resampler at a lower preset (`LQ`, `MQ`): the cheapest per chunk (see "
        "`bench/resamplers.json`), but it holds tens of ms and `LQ` loses about 8 dB at 3.4 kHz; `QQ` "
        "holds nothing and filters nothing (aliases at full level).",
        "- scipy's `resample_poly` per chunk with an overlap: it keeps no state between chunks, so every "
        "20 ms frame re-filters the overlap, and scipy (about 40 MB) would be a dependency for one "
        "function; not adopted without a measurement of its own.",
        "- pydantic's `model_construct` for reply-audio messages: still most of the SDK's cost (section "
        "2e); per-class default templates replaced it.",
        "- 40 ms output chunks on the phone path were first set aside: the first reply chunk would wait for "
        "the second when the resampler holds its ~2 ms. The output resampler now gives a reply's first frame "
        "its whole length (the hold as leading silence), so the first 40 ms chunk goes out at once; section "
        "2d has its before/after.",
        "- Not tried: grouping the caller's frames through the end-of-speech window (sent one 20 ms frame at "
        "a time now). It would bring the messages to the Live API toward the built-in's (section 2d) but hold "
        "back the frames the server's end-of-turn decision waits for.",
        "- Not tried: skipping `LLMService.process_frame`'s layers for caller audio as the pushes now skip "
        "theirs (about 10 us a frame in section \"Where our CPU goes\"): Pipecat's `FrameProcessor.process_frame` "
        "tells the pipeline's observers about every frame, and going around the layers above it would "
        "tie the service to each layer's frame list for a tenth of a millisecond per call-second.",
        "- Not tried: joining reply audio messages that arrive together into one frame (fewer frame hops "
        "downstream). The Live API streams a reply faster than real time, so it would apply there, but "
        "the emulator paces replies in real time, so no bench here could measure it.",
        "- Measuring each change of this round alone in the race: the first one (caller audio messages "
        "without `json.dumps`, 11 -> 4 us per message in isolation) against its parent, 3 repeats, came "
        "out at after / before 1.08 [1.07-1.18] of the overhead: a 0.1 ms change inside a run-to-run "
        "spread of more than 1 ms per call-second on this shared machine. So the changes are raced "
        "together (section 2g), and each one's effect is read in the per-call costs of \"Where our CPU "
        "goes\" (a push, a frame taken, a message sent).",
        "",
    ]
