"""Caller audio held while no session can take it, replayed in order when one can.

Sessions come and go (the first connect, a persona switch, a goAway hand-over, a reconnect);
the caller keeps talking through all of them. Audio that arrives in those windows is kept here,
bounded by duration, and sent to the next session before any newer audio. When the bound is hit
the oldest audio goes first (the caller's latest words matter most), and every dropped frame is
counted.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class HeldChunk:
    """One held frame: PCM16 LE mono bytes at ``sample_rate`` Hz.

    ``replay`` marks audio an earlier session already got, sent again to the next one. ``seq``
    is its place in the order of everything that waits for a session (audio and messages
    share one sequence, see :mod:`.link`); a replay goes before all of it (-1).
    """

    audio: bytes
    sample_rate: int
    replay: bool = False
    seq: int = 0

    @property
    def duration_s(self) -> float:
        """Seconds of audio in this chunk."""
        return len(self.audio) / 2 / self.sample_rate


@dataclass
class AudioCounters:
    """Caller audio accounting for one call.

    Attributes:
        sent: Frames sent to a session (a replay is not counted again).
        held: Frames that waited in the hold buffer (then sent or dropped).
        dropped: Frames lost (hold bound exceeded, malformed, or no session could ever take them).
        replayed: Frames already sent to a retired session and sent again to the next one.
        outside_turn: Local VAD: frames outside the caller's turns (not sent; the latest are
            kept as pre-roll).
        preroll: Local VAD: pre-roll frames sent after ``activityStart``.
    """

    sent: int = 0
    held: int = 0
    dropped: int = 0
    replayed: int = 0
    outside_turn: int = 0
    preroll: int = 0


class AudioHold:
    """A bounded FIFO of caller audio.

    Args:
        max_s: Most audio to keep, seconds.
        counters: Where held and dropped frames are counted.
        ticket: Gives each frame that starts waiting its place in the order (the link's
            sequence, shared with the messages that wait); a counter of its own by default.
    """

    def __init__(self, max_s: float, counters: AudioCounters, ticket: Callable[[], int] | None = None):
        self.max_s = max_s
        self.counters = counters
        self._ticket = ticket or itertools.count(1).__next__
        self._chunks: deque[HeldChunk] = deque()
        self._held_s = 0.0

    def __len__(self) -> int:
        return len(self._chunks)

    @property
    def held_s(self) -> float:
        """Seconds of audio waiting."""
        return self._held_s

    def hold(self, audio: bytes, sample_rate: int) -> int:
        """Keep one frame; drop the oldest while over the bound. Returns frames dropped."""
        chunk = HeldChunk(audio, sample_rate, seq=self._ticket())
        self._chunks.append(chunk)
        self._held_s += chunk.duration_s
        self.counters.held += 1
        dropped = 0
        while self._held_s > self.max_s and len(self._chunks) > 1:
            old = self._chunks.popleft()
            self._held_s -= old.duration_s
            dropped += 1
        self.counters.dropped += dropped
        return dropped

    def peek(self) -> HeldChunk | None:
        """The oldest held frame, left in place, or None when empty."""
        return self._chunks[0] if self._chunks else None

    def pop(self) -> HeldChunk | None:
        """The oldest held frame, or None when empty."""
        if not self._chunks:
            return None
        chunk = self._chunks.popleft()
        self._held_s = max(0.0, self._held_s - chunk.duration_s)
        return chunk

    def push_back(self, chunk: HeldChunk) -> None:
        """Queue a frame that is not caller audio being held (pre-roll): not counted as held."""
        chunk.seq = self._ticket()
        self._chunks.append(chunk)
        self._held_s += chunk.duration_s

    def push_front(self, chunk: HeldChunk) -> None:
        """Put back a frame that could not be sent (it stays first in line)."""
        self._chunks.appendleft(chunk)
        self._held_s += chunk.duration_s

    def discard(self) -> int:
        """Drop everything (the call is over); returns the frames counted as dropped."""
        n = sum(1 for c in self._chunks if not c.replay)
        self.counters.dropped += n
        self._chunks.clear()
        self._held_s = 0.0
        return n
