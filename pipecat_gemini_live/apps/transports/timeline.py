"""A WAV written as the call goes, on the call's timeline, without keeping the call in memory.

The bot's audio arrives as chunks placed at call times that never go backwards (a chunk starts
no earlier than "now"); the caller's audio (for a stereo file) arrives in order from time 0.
Everything before the earlier of the two cursors can no longer change, so it is written to disk
and forgotten: a two-hour call costs what a few seconds of audio cost.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


class TimelineWavWriter:
    """PCM16 WAV output: the bot (mono, or right channel) and optionally the caller (left).

    Args:
        path: Output file.
        rate: Sample rate of both tracks, Hz.
        stereo: Caller on the left, bot on the right.
    """

    def __init__(self, path: str | Path, rate: int, stereo: bool):
        self.path = Path(path)
        self.rate = rate
        self.stereo = stereo
        self._file: sf.SoundFile | None = None
        self._written = 0  # samples already on disk
        self._bot: list[tuple[int, np.ndarray]] = []
        self._bot_end = 0
        self._caller = np.zeros(0, dtype=np.int16)  # caller samples from _written on
        self._caller_end = 0
        self.closed = False

    @property
    def length(self) -> int:
        """Samples on the timeline so far (written or pending)."""
        return max(self._written, self._bot_end, self._caller_end if self.stereo else 0)

    def bot(self, start_s: float, pcm: bytes) -> None:
        """Place bot audio (PCM16 mono at ``rate``) at ``start_s`` on the call clock."""
        start = max(int(round(start_s * self.rate)), self._written)
        samples = np.frombuffer(pcm, dtype=np.int16)
        self._bot.append((start, samples))
        self._bot_end = max(self._bot_end, start + samples.size)

    def caller(self, samples: np.ndarray) -> None:
        """Append caller audio (int16 mono at ``rate``), continuing from the last piece."""
        if self.stereo and samples.size:
            self._caller = np.concatenate([self._caller, samples.astype(np.int16)])
            self._caller_end += samples.size

    def flush(self, until_s: float) -> None:
        """Write out everything before ``until_s`` that can no longer change."""
        limit = int(until_s * self.rate)
        if self.stereo:
            limit = min(limit, self._caller_end)
        self._write_to(limit)

    def close(self) -> None:
        """Write whatever is left and close the file (idempotent)."""
        if self.closed:
            return
        self._write_to(max(self.length, 1))
        if self._file is not None:
            self._file.close()
        self.closed = True

    def _write_to(self, limit: int) -> None:
        if limit <= self._written:
            return
        n = limit - self._written
        bot = np.zeros(n, dtype=np.int32)
        keep = []
        for start, samples in self._bot:
            a, b = max(start, self._written), min(start + samples.size, limit)
            if b > a:
                bot[a - self._written : b - self._written] += samples[a - start : b - start]
            if start + samples.size > limit:
                keep.append((start, samples))
        self._bot = keep
        bot16 = np.clip(bot, -32768, 32767).astype(np.int16)
        if self.stereo:
            caller = np.zeros(n, dtype=np.int16)
            take = min(n, self._caller.size)
            caller[:take] = self._caller[:take]
            self._caller = self._caller[take:]
            data = np.stack([caller, bot16], axis=1)
        else:
            data = bot16
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = sf.SoundFile(
                str(self.path), "w", samplerate=self.rate, channels=2 if self.stereo else 1, subtype="PCM_16", format="WAV"
            )
        self._file.write(data)
        self._written = limit
