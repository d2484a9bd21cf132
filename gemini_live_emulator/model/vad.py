"""Energy-based voice activity detection for the emulator's server-side VAD.

Works in audio time, not wall-clock time: a speech end is detected once ``silence_ms`` of
silent *samples* have arrived, exactly as a server that only sees the stream would. Audio that
a client held during a reconnect and sent late is therefore judged as it was spoken.

This is deliberately simple (RMS in 10 ms windows against a dBFS threshold, with start and end
hang times); it is honest about what it is in the emulator docs. Sensitivities map to hang
times the way the Live API's ``startOfSpeechSensitivity`` / ``endOfSpeechSensitivity`` read:
HIGH reacts sooner, LOW later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW_MS = 10


@dataclass
class VadParams:
    """Tuning for :class:`EnergyVAD`.

    Attributes:
        threshold_dbfs: A 10 ms window louder than this (RMS, dB full scale) is speech.
        start_ms: Consecutive speech needed to open a turn.
        silence_ms: Consecutive silence that closes a turn (``silenceDurationMs``).
    """

    threshold_dbfs: float = -45.0
    start_ms: int = 60
    silence_ms: int = 500

    @classmethod
    def from_setup(
        cls,
        *,
        default_silence_ms: int,
        silence_duration_ms: int | None,
        start_sensitivity: str | None,
        end_sensitivity: str | None,
        threshold_dbfs: float = -45.0,
    ) -> "VadParams":
        """Params from a setup's ``automaticActivityDetection`` fields.

        Args:
            default_silence_ms: Silence used when the setup sets none.
            silence_duration_ms: ``silenceDurationMs`` from the setup, if any.
            start_sensitivity: ``START_SENSITIVITY_HIGH`` / ``_LOW`` or None.
            end_sensitivity: ``END_SENSITIVITY_HIGH`` / ``_LOW`` or None.
            threshold_dbfs: Speech threshold.
        """
        start_ms = 60
        if start_sensitivity and start_sensitivity.upper().endswith("HIGH"):
            start_ms = 30
        elif start_sensitivity and start_sensitivity.upper().endswith("LOW"):
            start_ms = 120
        if silence_duration_ms is not None:
            silence = int(silence_duration_ms)
        else:
            silence = default_silence_ms
            if end_sensitivity and end_sensitivity.upper().endswith("HIGH"):
                silence = int(silence * 0.6)
            elif end_sensitivity and end_sensitivity.upper().endswith("LOW"):
                silence = int(silence * 1.6)
        return cls(threshold_dbfs=threshold_dbfs, start_ms=start_ms, silence_ms=max(silence, 20))


@dataclass
class VadEvent:
    """A change of state, at ``at_s`` seconds of audio time since the stream started.

    Attributes:
        kind: ``"start"`` (speech began at ``at_s``) or ``"end"`` (speech ended at ``at_s``;
            detected ``silence_ms`` later).
        at_s: Audio time of the change.
    """

    kind: str
    at_s: float


class EnergyVAD:
    """Streaming speech start / end detection on PCM16 mono audio at any rate.

    Args:
        params: Thresholds and hang times.
        rate: Sample rate of the audio that will be fed, in Hz.
    """

    def __init__(self, params: VadParams, rate: int):
        self.params = params
        self.rate = rate
        self._window = max(1, rate * WINDOW_MS // 1000)
        self._pending = np.zeros(0, dtype=np.int16)
        self._windows_seen = 0
        self._voiced_run = 0
        self._silent_run = 0
        self._run_start = 0
        self._last_voiced_end = 0
        self.speaking = False
        self._threshold = 32768.0 * 10 ** (params.threshold_dbfs / 20.0)

    @property
    def position_s(self) -> float:
        """Audio time fed so far, in seconds (whole windows only)."""
        return self._windows_seen * WINDOW_MS / 1000.0

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Feed PCM16 LE mono samples; return the state changes they caused, in order."""
        samples = np.frombuffer(pcm, dtype=np.int16)
        if self._pending.size:
            samples = np.concatenate([self._pending, samples])
        n = samples.size // self._window
        self._pending = samples[n * self._window :].copy()
        if n == 0:
            return []
        frames = samples[: n * self._window].reshape(n, self._window).astype(np.float32)
        rms = np.sqrt(np.mean(frames * frames, axis=1))
        voiced = rms > self._threshold
        events: list[VadEvent] = []
        start_windows = max(1, self.params.start_ms // WINDOW_MS)
        end_windows = max(1, self.params.silence_ms // WINDOW_MS)
        for v in voiced:
            index = self._windows_seen
            self._windows_seen += 1
            if v:
                if self._voiced_run == 0:
                    self._run_start = index
                self._voiced_run += 1
                self._silent_run = 0
                self._last_voiced_end = index + 1
                if not self.speaking and self._voiced_run >= start_windows:
                    self.speaking = True
                    events.append(VadEvent("start", self._run_start * WINDOW_MS / 1000.0))
            else:
                self._voiced_run = 0
                self._silent_run += 1
                if self.speaking and self._silent_run >= end_windows:
                    self.speaking = False
                    events.append(VadEvent("end", self._last_voiced_end * WINDOW_MS / 1000.0))
        return events

    def flush(self) -> list[VadEvent]:
        """End the stream (``audioStreamEnd``): close an open turn at the last speech."""
        self._pending = np.zeros(0, dtype=np.int16)
        self._voiced_run = 0
        self._silent_run = 0
        if self.speaking:
            self.speaking = False
            return [VadEvent("end", self._last_voiced_end * WINDOW_MS / 1000.0)]
        return []
