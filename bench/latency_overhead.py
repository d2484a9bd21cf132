"""Response latency overhead: the same recorded call through both services, turn by turn.

Per turn: caller speech end -> first bot audio written by the output transport, minus the
emulator's configured end-of-speech silence and think time: what the client side (pipeline,
service, SDK, TLS, loopback) adds. Both services run the same pipeline
(:mod:`bench.rig`, 16 kHz caller in, 24 kHz out) against one emulator in its own process.

Each round runs one call of each service at the same time, the second started ``offset_s``
after the first (alternating which leads), so drift on a shared machine hits both alike and
their turns do not end at the same instant. Turns come from a call built of real speech
(``tests/data``), with a pause after each utterance long enough for the whole reply, so the
caller never talks over the bot. A short warm-up pair (one turn each) runs first: the first
message a process parses costs the SDK several ms once, and would land on whichever service
answered first.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from pipecat.workers.runner import WorkerRunner

from bench.calls import build_call_wav
from bench.emulator_process import EmulatorProcess
from bench.rig import SERVICES, BenchCall, build_call, start_frames
from pipecat_gemini_live.apps.latency import AudioPathTrace, turn_latencies
from pipecat_gemini_live.apps.latency.breakdown import percentiles
from pipecat_gemini_live.apps.report import caller_segments
from pipecat_gemini_live.apps.transports.wav import load_wav

THINK_MS = 200
SILENCE_MS = 500
CLIPS = (
    "cards_001.wav",
    "librivox_0880.wav",
    "cards_003.wav",
    "librivox_0930.wav",
    "cards_002.wav",
    "librivox_0890.wav",
    "cards_004.wav",
    "cards_005.wav",
    "librivox_0920.wav",
    "librivox_0870.wav",
)
# After each utterance: the server's silence and think time, a reply of up to ~5 s, a margin.
PAUSE_S = 6.5


async def _traced_call(kind: str, endpoint, wav: Path, out: Path, delay_s: float) -> tuple[BenchCall, AudioPathTrace]:
    await asyncio.sleep(delay_s)
    call = build_call(kind, endpoint, load_wav(wav), out, tail_quiet_s=0.5)
    trace = AudioPathTrace()
    trace.tap_pipeline(
        input_transport=call.input,
        input_resampler=call.resampler,
        service=call.service,
        output_transport=call.output,
        input_is_wire=True,
    )
    runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
    await start_frames(call)
    await runner.add_workers(call.worker)
    await runner.run()
    return call, trace


async def _pair(endpoint, wav: Path, tmp: Path, lead: str, offset_s: float) -> dict:
    runs = await asyncio.gather(
        *(
            _traced_call(kind, endpoint, wav, tmp / f"{kind}.wav", 0.0 if kind == lead else offset_s)
            for kind in SERVICES
        )
    )
    return dict(zip(SERVICES, runs, strict=True))


async def measure(rounds: int = 3, turns: int = 10, offset_s: float = 1.37, say=print) -> dict:
    """Run ``rounds`` pairs of calls of ``turns`` caller turns each.

    Args:
        rounds: Calls per service.
        turns: Caller turns per call (at most 10: one per speech clip).
        offset_s: Start of the second call of a pair after the first, seconds.
        say: Progress printer.

    Returns:
        ``{"config", "turns": {service: [per-turn dicts]}, "summary": {service: ...},
        "ratio": {"p50", "p95"}}``; overheads in ms.
    """
    got: dict[str, list[dict]] = {k: [] for k in SERVICES}
    with tempfile.TemporaryDirectory() as tmp_name, EmulatorProcess(think_ms=THINK_MS, silence_ms=SILENCE_MS) as emu:
        tmp = Path(tmp_name)
        wav = build_call_wav(tmp / "caller.wav", _parts(turns))
        warm = build_call_wav(tmp / "warm.wav", _parts(1))
        ends = [end for _, end in caller_segments(load_wav(wav), silence_ms=SILENCE_MS)]
        await _pair(emu.endpoint, warm, tmp, SERVICES[0], offset_s)
        for r in range(rounds):
            lead = SERVICES[r % 2]
            pair = await _pair(emu.endpoint, wav, tmp, lead, offset_s)
            for kind, (call, trace) in pair.items():
                per_turn = turn_latencies(trace, ends, silence_s=SILENCE_MS / 1000)
                for t in per_turn:
                    got[kind].append(
                        {
                            "round": r + 1,
                            "turn": t.index,
                            "total_ms": t.total_ms,
                            "overhead_ms": None if t.total_ms is None else round(t.total_ms - SILENCE_MS - THINK_MS, 2),
                            "stages_ms": t.stages_ms,
                        }
                    )
                shown = ", ".join("-" if t.total_ms is None else f"{t.total_ms - SILENCE_MS - THINK_MS:.0f}" for t in per_turn)
                errs = f"  errors: {call.errors[:2]}" if call.errors else ""
                say(f"  latency round {r + 1}/{rounds} {kind:8s} overhead per turn (ms): {shown}{errs}")
    summary = {k: _summary(v) for k, v in got.items()}
    ratio = {
        q: _ratio(summary["ours"]["overhead_ms"][q], summary["builtin"]["overhead_ms"][q]) for q in ("p50", "p95")
    }
    return {
        "config": {
            "think_ms": THINK_MS,
            "silence_ms": SILENCE_MS,
            "rounds": rounds,
            "turns_per_call": turns,
            "offset_s": offset_s,
            "caller": [c for c in CLIPS[:turns]],
        },
        "turns": got,
        "summary": summary,
        "ratio": ratio,
    }


def _parts(turns: int) -> list:
    if not 1 <= turns <= len(CLIPS):
        raise ValueError(f"turns must be 1..{len(CLIPS)}, got {turns}")
    parts: list = [3.0]  # both calls of a pair are connected before the first word
    for clip in CLIPS[:turns]:
        parts += [clip, PAUSE_S]
    return parts


def _summary(turns: list[dict]) -> dict:
    stages: list[str] = []
    for t in turns:
        stages += [s for s in t["stages_ms"] if s not in stages]
    return {
        "turns": len(turns),
        "answered": sum(t["overhead_ms"] is not None for t in turns),
        "overhead_ms": percentiles([t["overhead_ms"] for t in turns]),
        # "server" here is service_in -> service_out: the emulator's silence and think time
        # plus the SDK and the service on both ways (no tap inside the emulator's process).
        "stages_ms": {s: percentiles([t["stages_ms"].get(s) for t in turns]) for s in stages},
    }


def _ratio(a, b) -> float | None:
    return round(a / b, 3) if a is not None and b not in (None, 0) else None

