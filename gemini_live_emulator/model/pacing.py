"""How fast reply audio goes out: the real server's delivery is not a steady real-time stream.

Field reports: audio "sent in bursts", sometimes seconds ahead of real time (clients with a
2 s playback buffer dropped the overflow), and sometimes below real time, so players that start
at once run dry mid-reply (LiveKit agents issue #3604, "Gemini Live sometimes doesn't produce
audio as fast as real-time"). Profiles, as ``EmulatorConfig.pacing`` / ``--pacing`` text:

- ``realtime``: each chunk when the previous one has played (the default);
- ``burst`` / ``burst:N``: the first N seconds (default 2) at once, then real time N s ahead;
- ``slow`` / ``slow:F``: F times real time (default 0.85) with a 0.3 s gap every 2 s of audio;
- ``jitter`` / ``jitter:SEED``: half-second stretches each at random burst (x4), real time or
  stalled (x0.5), from a seeded generator (default seed 0 plus the connection index).

:func:`schedule` gives each chunk's send time; ``pace`` still scales the whole schedule.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

PROFILES = ("realtime", "burst", "slow", "jitter")


@dataclass(frozen=True)
class Pacing:
    """A parsed profile: ``kind`` (one of :data:`PROFILES`) and its ``value`` (see module doc)."""

    kind: str = "realtime"
    value: float | None = None

    @classmethod
    def parse(cls, text: "str | Pacing") -> "Pacing":
        """``"burst:3"`` -> ``Pacing("burst", 3.0)``.

        Raises:
            ValueError: An unknown profile or a bad value.
        """
        if isinstance(text, Pacing):
            return text
        kind, _, value = str(text).strip().partition(":")
        kind = kind.lower()
        if kind not in PROFILES:
            raise ValueError(f"unknown pacing {text!r}: one of {', '.join(PROFILES)} (burst:2, slow:0.85, jitter:7)")
        number = float(value) if value else None
        if number is not None and (not math.isfinite(number) or number <= 0 or (kind == "slow" and number > 1)):
            raise ValueError(f"pacing {text!r}: the value must be a finite number > 0 (and <= 1 for slow)")
        if kind == "realtime" and number is not None:
            raise ValueError("realtime pacing takes no value")
        return cls(kind, number)

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value:g}"


def schedule(pacing: Pacing, chunks: int, chunk_s: float, connection: int = 0) -> list[float]:
    """Send time of each chunk, seconds after the reply's first chunk, at real-time pace 1.

    Args:
        pacing: The profile.
        chunks: How many chunks the reply has.
        chunk_s: Audio per chunk, seconds.
        connection: The connection's index (varies the jitter between connections).
    """
    played = [i * chunk_s for i in range(chunks)]
    if pacing.kind == "burst":
        lead = pacing.value or 2.0
        return [max(0.0, t - lead) for t in played]
    if pacing.kind == "slow":
        factor = pacing.value or 0.85
        return [t / factor + 0.3 * int(t // 2.0) for t in played]
    if pacing.kind == "jitter":
        rng = random.Random(int(pacing.value or 0) * 1000 + connection)
        out, at, stretch, speed = [], 0.0, -1, 1.0
        for i in range(chunks):
            if int(played[i] // 0.5) != stretch:
                stretch = int(played[i] // 0.5)
                speed = rng.choice((4.0, 1.0, 0.5))
            out.append(at)
            at += chunk_s / speed
        return out
    return played
