"""A playout cushion for reply audio that arrives slower than real time (pure, no I/O).

The Live server does not stream a reply at real time: it sends bursts ahead of it and stretches
behind it. When it falls behind, a player that started at once runs dry mid-reply and the caller
hears a hiccup. A cushion holds the first part of each reply until enough audio is in hand, at
the cost of that much latency. :class:`PlayoutCushion` keeps the cushion adaptive: it starts at
nothing (no latency while delivery keeps up), grows after each underrun it sees (the audio in
hand ran out before the next chunk came), never beyond its bound, and lives for one call.

The playout clock is an estimate of what the output transport does: it plays chunks back to
back in real time from when each is handed over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class PlayoutCushion(Generic[T]):
    """Decides when each reply chunk is handed to the output.

    Args:
        max_s: The largest cushion, seconds (0 disables it: chunks pass at once).
        start_s: The cushion of the first reply, seconds.

    Attributes:
        target_s: The cushion the next reply starts with, seconds.
        underruns: Times the estimated player ran dry in the middle of a reply.
        added_latency_s: For each reply held back, how long its first chunk waited, seconds.
    """

    max_s: float
    start_s: float = 0.0
    target_s: float = field(init=False)
    underruns: int = 0
    added_latency_s: list[float] = field(default_factory=list)
    _held: list[tuple[T, float]] = field(default_factory=list)
    _held_s: float = 0.0
    _holding: bool = False
    _reply_started: float | None = None
    _play_until: float | None = None

    def __post_init__(self):
        self.target_s = min(self.start_s, self.max_s)

    def start_reply(self, now: float) -> None:
        """A reply began (before its first chunk)."""
        self._held, self._held_s = [], 0.0
        self._holding = self.target_s > 0
        self._reply_started = now
        self._play_until = None

    def feed(self, chunk: T, duration_s: float, now: float) -> list[T]:
        """One chunk of ``duration_s`` seconds arrived; returns the chunks to hand over now."""
        if self._holding:
            self._held.append((chunk, duration_s))
            self._held_s += duration_s
            return self._release(now) if self._held_s >= self.target_s else []
        self._account(duration_s, now)
        return [chunk]

    def flush(self, now: float) -> list[T]:
        """The reply is fully generated: whatever is held goes now."""
        return self._release(now) if self._holding else []

    def drop(self) -> None:
        """The reply was cut (barge-in, switch): what is held is never played."""
        self._held, self._held_s = [], 0.0
        self._holding = False
        self._play_until = None

    def _release(self, now: float) -> list[T]:
        held, self._held, self._held_s = self._held, [], 0.0
        self._holding = False
        if self._reply_started is not None:
            self.added_latency_s.append(now - self._reply_started)
        for _, duration_s in held:
            self._account(duration_s, now, starting=True)
        return [chunk for chunk, _ in held]

    def _account(self, duration_s: float, now: float, *, starting: bool = False) -> None:
        if self._play_until is not None and now > self._play_until and not starting:
            gap = now - self._play_until
            self.underruns += 1
            # Enough to have covered this gap, and at least double: stalls come back.
            self.target_s = min(self.max_s, max(2 * self.target_s, self.target_s + gap + 0.02))
        self._play_until = max(self._play_until or now, now) + duration_s

