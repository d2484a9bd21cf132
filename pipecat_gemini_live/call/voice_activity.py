"""When the caller last made a sound: the start of the reply-latency clock.

The Live API's server-side VAD tells the client nothing when the caller stops talking, so the
time-to-first-byte of a reply is measured from the last caller frame louder than a speech
threshold. One RMS per frame, with ``audioop.rms`` (C, as Pipecat's own audio utilities use):
about 6 us on a frame, against about 40 us through numpy's conversion and dot product when
the frame arrives at a cold cache, which is how every frame of a live call arrives
(``bench/micro.py``).
"""

from __future__ import annotations

import audioop
import time


class SpeechClock:
    """Tracks the last caller frame with speech energy.

    Args:
        threshold_dbfs: RMS level (dB full scale) above which a frame counts as speech.
    """

    def __init__(self, threshold_dbfs: float = -45.0):
        self._threshold_sq = (32768.0 * 10 ** (threshold_dbfs / 20.0)) ** 2
        self.last_voice_at: float | None = None

    def is_voiced(self, pcm: bytes) -> bool:
        """Whether one PCM16 frame carries speech energy."""
        if len(pcm) < 2:
            return False
        if len(pcm) % 2:
            pcm = pcm[:-1]
        rms = audioop.rms(pcm, 2)
        return rms * rms > self._threshold_sq

    def observe(self, pcm: bytes, at: float | None = None) -> bool:
        """Look at one live PCM16 frame; returns whether it was voiced."""
        voiced = self.is_voiced(pcm)
        if voiced:
            self.last_voice_at = at if at is not None else time.monotonic()
        return voiced
