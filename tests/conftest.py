"""Shared test helpers: real speech from tests/data, calls built from it, an in-process emulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from gemini_live_emulator import EmulatorConfig, LiveEmulator

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


def speech(name: str) -> np.ndarray:
    """A recording from tests/data as 16 kHz int16 mono."""
    audio, rate = sf.read(str(DATA / name), dtype="int16")
    assert rate == 16000
    return audio


def build_call(
    path: Path,
    parts: list,
    *,
    rate: int = 16000,
    subtype: str = "PCM_16",
    channels: int = 1,
) -> Path:
    """Write a caller recording: names of files in tests/data (speech) and floats (silence, s).

    Args:
        path: Where to write.
        parts: e.g. ``[0.5, "cards_001.wav", 3.0, "cards_003.wav", 2.0]``.
        rate: Output sample rate, Hz.
        subtype: libsndfile subtype (``PCM_16``, ``ULAW``...).
        channels: 1, or 2 to duplicate the signal into stereo.
    """
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(speech(part).astype(np.float32))
        else:
            pieces.append(np.zeros(int(16000 * part), dtype=np.float32))
    mono = np.concatenate(pieces)
    if rate != 16000:
        mono = soxr.resample(mono, 16000, rate)
    data = np.clip(mono, -32768, 32767).astype(np.int16)
    if channels == 2:
        data = np.stack([data, data], axis=1)
    sf.write(str(path), data, rate, subtype=subtype, format="WAV")
    return path


@pytest.fixture
def short_call(tmp_path) -> Path:
    """Two caller turns of real speech, about 9 s in all."""
    return build_call(tmp_path / "short_call.wav", [0.4, "cards_001.wav", 3.6, "cards_003.wav", 2.0])


@pytest.fixture
async def emulator():
    """An in-process emulator with a short think time, sending replies at 3x real time."""
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=3.0)) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _forget_learned_refusals():
    """A 1007 teaches the process what a model refuses; no test may inherit another's lesson."""
    from pipecat_gemini_live.protocol.profiles import forget_refusals

    yield
    forget_refusals()
