"""Per-turn latency of a traced call, split by stage (pure: no I/O, no clocks).

For each caller turn, with the end of the caller's speech at ``speech_end_s`` seconds into the
call's audio and a server that ends a turn after ``silence_s`` of silence:

- ``silence``: the caller's own end-of-speech silence, as it crossed the wire (the first
  inbound stage reaching ``speech_end_s``, then ``speech_end_s + silence_s``);
- inbound stages: when each reached ``speech_end_s + silence_s``: the audio the server needs
  before it can end the turn. What a stage holds back delays that audio, and the turn;
- the reply: the first burst of bot audio at the first outbound stage that starts after the
  last inbound stage reached that point, then at each later stage the first burst that starts
  no earlier than the one before it (a burst is audio with no gap over ``gap_s``);
- ``total_ms``: end of speech at the first inbound stage (the wire) -> first reply audio at the
  last outbound stage (written to the transport): what the caller waits. It is the sum of the
  deltas.

Stage deltas are named ``"a->b"`` for consecutive stages present in the trace; ``server`` is the
time between the last inbound and the first outbound stage (with both ends traced at the
emulator: its think time, plus its VAD's 10 ms windows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from .trace import INBOUND, OUTBOUND, AudioPathTrace


@dataclass
class TurnLatency:
    """One caller turn.

    Attributes:
        index: 1-based turn number.
        speech_end_s: End of the caller's speech, seconds into the call's audio.
        total_ms: End of speech on the wire -> first reply audio written (None: no reply).
        stages_ms: Stage deltas in path order (``"silence"``, ``"wire_in->input_transport"``,
            ..., ``"server"``, ..., ``"output_resampler->wire_out"``); None where unmeasured.
        legs_ms: The same time in the six legs every path has: ``silence``,
            ``wire->service``, ``service->live``, ``server``, ``live->service``, ``service->wire``.
        reached: Monotonic time each inbound stage reached the end of speech plus the silence,
            and each outbound stage started the reply; ``"speech_end"``: the wire at the end of
            speech.
    """

    index: int
    speech_end_s: float
    total_ms: float | None
    stages_ms: dict[str, float | None] = field(default_factory=dict)
    legs_ms: dict[str, float | None] = field(default_factory=dict)
    reached: dict[str, float | None] = field(default_factory=dict)


def turn_latencies(
    trace: AudioPathTrace, speech_ends_s: list[float], *, silence_s: float = 0.0, gap_s: float = 0.3
) -> list[TurnLatency]:
    """Per-turn latencies of a traced call.

    Args:
        trace: The call's trace.
        speech_ends_s: End of each caller turn, seconds into the call's audio, in order.
        silence_s: The server's end-of-speech silence, seconds (the emulator's
            ``default_silence_ms`` / 1000, or the setup's ``silenceDurationMs``).
        gap_s: Silence that separates two bursts of bot audio, seconds.

    Raises:
        ValueError: When the trace has no inbound or no outbound stage at all.
    """
    inbound = [s for s in INBOUND if trace.has(s)]
    outbound = [s for s in OUTBOUND if trace.has(s)]
    if not inbound or not outbound:
        raise ValueError(
            f"a trace needs an inbound and an outbound stage; it has {sorted(trace.clocks)}"
        )
    bursts = {s: trace.clock(s).bursts(gap_s) for s in outbound}
    anchors = [trace.clock(inbound[-1]).reached(end + silence_s) for end in speech_ends_s]
    turns = []
    for i, end in enumerate(speech_ends_s):
        reached: dict[str, float | None] = {"speech_end": trace.clock(inbound[0]).reached(end)}
        reached.update({s: trace.clock(s).reached(end + silence_s) for s in inbound})
        # A reply that starts after the next turn was over answers that turn, not this one.
        limit = next((a for a in anchors[i + 1 :] if a is not None), float("inf"))
        previous = anchors[i]
        for k, s in enumerate(outbound):
            t = _first_at_or_after(bursts[s], previous) if previous is not None else None
            if k == 0 and t is not None and t >= limit:
                t = None
            reached[s] = t
            previous = t
        first, last = reached["speech_end"], reached[outbound[-1]]
        total = (last - first) * 1000.0 if first is not None and last is not None else None
        turns.append(
            TurnLatency(
                i + 1, end, total, _deltas(inbound, outbound, reached), _legs(reached), reached
            )
        )
    return turns


def _first_at_or_after(starts: list[float], t: float) -> float | None:
    return next((s for s in starts if s >= t), None)


def _deltas(
    inbound: list[str], outbound: list[str], reached: dict[str, float | None]
) -> dict[str, float | None]:
    out: dict[str, float | None] = {}

    def delta(a: str, b: str) -> float | None:
        ta, tb = reached.get(a), reached.get(b)
        return (tb - ta) * 1000.0 if ta is not None and tb is not None else None

    out["silence"] = delta("speech_end", inbound[0])
    for a, b in pairwise(inbound):
        out[f"{a}->{b}"] = delta(a, b)
    out["server"] = delta(inbound[-1], outbound[0])
    for a, b in pairwise(outbound):
        out[f"{a}->{b}"] = delta(a, b)
    return out


LEGS = (
    ("silence", "speech_end", "wire_in"),
    ("wire->service", "wire_in", "service_in"),
    ("service->live", "service_in", "live_in"),
    ("server", "live_in", "live_out"),
    ("live->service", "live_out", "service_out"),
    ("service->wire", "service_out", "wire_out"),
)


def _legs(reached: dict[str, float | None]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, a, b in LEGS:
        ta, tb = reached.get(a), reached.get(b)
        out[name] = (tb - ta) * 1000.0 if ta is not None and tb is not None else None
    return out


def percentiles(values: list[float | None]) -> dict[str, float | int | None]:
    """``{"n", "p50", "p95", "mean"}`` of the measured values (None entries are skipped)."""
    got = [v for v in values if v is not None]
    if not got:
        return {"n": 0, "p50": None, "p95": None, "mean": None}
    a = np.asarray(got, dtype=float)
    return {
        "n": len(got),
        "p50": round(float(np.percentile(a, 50)), 1),
        "p95": round(float(np.percentile(a, 95)), 1),
        "mean": round(float(a.mean()), 1),
    }


def summarize(turns: list[TurnLatency]) -> dict:
    """Percentiles of the total and of each stage over many turns (of one path).

    Returns:
        ``{"turns", "answered", "total_ms": {...}, "legs_ms": {leg: {...}}, "stages_ms": {stage: {...}}}``,
        each ``{...}`` as :func:`percentiles` gives.
    """
    names: list[str] = []
    for t in turns:
        names += [n for n in t.stages_ms if n not in names]
    return {
        "turns": len(turns),
        "answered": sum(t.total_ms is not None for t in turns),
        "total_ms": percentiles([t.total_ms for t in turns]),
        "legs_ms": {name: percentiles([t.legs_ms.get(name) for t in turns]) for name, _, _ in LEGS},
        "stages_ms": {n: percentiles([t.stages_ms.get(n) for t in turns]) for n in names},
    }
