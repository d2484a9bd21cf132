"""How caller audio is grouped into ``realtimeInput`` messages: at once where timing matters.

Every message to the Live API costs the same fixed work whatever it carries (the SDK's
conversion, JSON, base64, compression, TLS, a syscall), and a 20 ms frame per message is 50 of
them a second. Most of a call does not need that: what the server must hear without delay is
the **start** of speech (barge-in) and the **silence after it** (the end-of-speech window its
VAD counts). So frames go out at once at a speech onset, at a speech offset and through the
end-of-speech window after it; during speech they are grouped up to ``speech_batch_s`` (the
server is listening, not deciding), and during long silences up to ``quiet_batch_s`` (nothing
there to decide on; the next onset flushes everything at once). Speech is judged by the same
energy test as the latency clock.
"""

from __future__ import annotations

from .audio_hold import HeldChunk

# Frame durations summed in floating point fall a hair short (ten 20 ms frames: 0.19999...);
# a group is full within this much of its length.
_EPS_S = 1e-6


class AudioBatcher:
    """Groups caller frames into messages.

    Args:
        speech_batch_s: Longest group while the caller speaks, seconds.
        quiet_batch_s: Longest group in a long silence, seconds.
        end_window_s: After speech, how long every frame goes out at once (covers the
            server's end-of-speech silence plus a margin), seconds.
    """

    def __init__(self, *, speech_batch_s: float = 0.06, quiet_batch_s: float = 0.1, end_window_s: float = 1.0):
        self.speech_batch_s = speech_batch_s
        self.quiet_batch_s = quiet_batch_s
        self.end_window_s = end_window_s
        self.pending: list[tuple[HeldChunk, bool]] = []
        self._pending_s = 0.0
        self._voiced = False
        self._silence_s = end_window_s  # a call starts quiet

    def can_join(self, sample_rate: int) -> bool:
        """Whether a frame at ``sample_rate`` can join the pending group (same rate)."""
        return not self.pending or self.pending[0][0].sample_rate == sample_rate

    def add(self, chunk: HeldChunk, voiced: bool) -> bool:
        """Add one frame; True when the group should be sent now."""
        onset = voiced and not self._voiced
        offset = not voiced and self._voiced
        self._voiced = voiced
        self._silence_s = 0.0 if voiced else self._silence_s + chunk.duration_s
        self.pending.append((chunk, voiced))
        self._pending_s += chunk.duration_s
        if onset or offset:
            return True
        if voiced:
            return self._pending_s >= self.speech_batch_s - _EPS_S
        if self._silence_s <= self.end_window_s:
            return True
        return self._pending_s >= self.quiet_batch_s - _EPS_S

    def take(self) -> list[tuple[HeldChunk, bool]]:
        """The pending group, emptied."""
        group, self.pending, self._pending_s = self.pending, [], 0.0
        return group
