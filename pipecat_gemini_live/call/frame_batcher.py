"""Caller frames grouped at the edge of the pipeline, where the Live API's timing allows.

Why. Every frame that enters a Pipecat pipeline pays the same fixed cost at every stage it
crosses (queues, tasks, observers): on a phone call that is 50 frames a second of 20 ms,
through five to seven stages, and it was most of a call's CPU in ``make bench``'s profiles.
The service already groups caller audio into ``realtimeInput`` messages with
:class:`~pipecat_gemini_live.audio_batcher.AudioBatcher` (at once at a speech onset, at a speech
offset and through the end-of-speech window after it; up to 60 ms during speech and 100 ms
during long silences). Grouping the *frames* by the same rule where they enter the pipeline
delays nothing the server decides on, and carries the same audio in two to five times fewer
frames.

A group is released when the frame that completes it arrives: a stream that stops mid-group
(the caller hangs up) loses at most ``quiet_batch_s`` of silence or ``speech_batch_s`` of speech.
"""

from __future__ import annotations

from .audio_batcher import AudioBatcher
from .audio_hold import HeldChunk
from .voice_activity import SpeechClock


class CallerFrameBatcher:
    """Joins consecutive PCM16 mono caller frames into larger ones (:class:`AudioBatcher`'s rule).

    Args:
        speech_batch_s: Longest group while the caller speaks, seconds.
        quiet_batch_s: Longest group in a long silence, seconds.
        end_window_s: After speech, how long every frame is released at once, seconds.
        threshold_dbfs: RMS level above which a frame counts as speech (the latency clock's).

    Raises:
        ValueError: From :meth:`add`, for a frame at another rate than the pending ones, or
            not whole samples.
    """

    def __init__(
        self,
        *,
        speech_batch_s: float = 0.06,
        quiet_batch_s: float = 0.1,
        end_window_s: float = 1.0,
        threshold_dbfs: float = -45.0,
    ):
        self.policy = AudioBatcher(speech_batch_s=speech_batch_s, quiet_batch_s=quiet_batch_s, end_window_s=end_window_s)
        self.clock = SpeechClock(threshold_dbfs)
        self.frames_in = 0
        self.frames_out = 0

    def add(self, pcm: bytes, sample_rate: int) -> bytes | None:
        """Take one frame (PCM16 LE mono at ``sample_rate`` Hz).

        Returns:
            The group to push now (this frame and any held before it), or None while the
            group may still grow.
        """
        if len(pcm) % 2:
            raise ValueError(f"PCM16 audio must be whole samples, got {len(pcm)} bytes")
        if not self.policy.can_join(sample_rate):
            raise ValueError(
                f"frames at {sample_rate} Hz cannot join a group at {self.policy.pending[0][0].sample_rate} Hz"
            )
        self.frames_in += 1
        if not self.policy.add(HeldChunk(pcm, sample_rate), self.clock.is_voiced(pcm)):
            return None
        self.frames_out += 1
        group = self.policy.take()
        return group[0][0].audio if len(group) == 1 else b"".join(c.audio for c, _ in group)

    def take(self) -> bytes:
        """Whatever is pending (empty if nothing), e.g. when the stream ends."""
        return b"".join(c.audio for c, _ in self.policy.take())
