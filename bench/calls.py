"""Caller recordings for the benchmarks, built from the real speech clips in ``tests/data``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests/data"


def build_call_wav(path: Path, parts: list, *, rate: int = 16000, subtype: str = "PCM_16") -> Path:
    """Write a caller recording: clip names (speech from ``tests/data``) and pauses (seconds).

    Args:
        path: Where to write the WAV.
        parts: e.g. ``[3.0, "cards_001.wav", 6.5, "librivox_0880.wav", 6.5]``.
        rate: Sample rate of the file, Hz (the clips are 16 kHz).
        subtype: libsndfile subtype (``PCM_16``, ``ULAW``...).

    Returns:
        ``path``.

    Raises:
        ValueError: A clip that is not 16 kHz mono.
    """
    pieces = []
    for part in parts:
        if isinstance(part, str):
            audio, clip_rate = sf.read(str(SPEECH / part), dtype="float32")
            if clip_rate != 16000 or audio.ndim != 1:
                raise ValueError(f"{part}: expected 16 kHz mono speech")
            pieces.append(audio)
        else:
            pieces.append(np.zeros(int(16000 * part), dtype=np.float32))
    mono = np.concatenate(pieces)
    if rate != 16000:
        mono = soxr.resample(mono, 16000, rate)
    sf.write(str(path), np.clip(mono, -1.0, 1.0), rate, subtype=subtype, format="WAV")
    return path
