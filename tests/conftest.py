"""Shared test helpers: real speech from tests/data, calls built from it, an in-process emulator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Awaitable, Callable

import numpy as np
import pytest
import soundfile as sf
import soxr

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from gemini_live_emulator.config import ASR_ENV, LISTEN_TIMEOUT_ENV

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


def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse to run when pytest-xdist's ``--dist loadgroup`` would ignore ``xdist_group``.

    The grouped tests share a worker on purpose (one costly batch of calls, timed calls not run
    four at once); a pytest/xdist pair that drops the group (xdist tags the node id, and some
    pytest versions ignore the tag) makes the suite slower and flakier without a word.
    """
    if not getattr(session.config.option, "loadgroup", False):
        return
    for item in session.items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid.rpartition("]")[2]:
            raise pytest.UsageError(
                f"pytest-xdist did not tag {item.nodeid} with its xdist_group: this pytest "
                "version breaks --dist loadgroup (see the pytest pin in pyproject.toml)"
            )


_BATCHES: dict[str, Any] = {}


async def once_per_worker(key: str, run: Callable[[], Awaitable[Any]]) -> Any:
    """The result of a costly batch of calls, computed once per test process.

    A module-scoped fixture is set up again whenever pytest-xdist runs another module's test
    between two of its tests on the same worker; a batch of real-time calls (minutes of wall
    clock) then ran four times over. The results are plain data, so they outlive the event loop
    that made them.
    """
    if key not in _BATCHES:
        _BATCHES[key] = await run()
    return _BATCHES[key]


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


# Speech recognition costs a recogniser process per emulator process and CPU per second of
# speech; only the tests that check the caller's words pay for it (``@pytest.mark.asr``).
# Everywhere else, emulators in this process and in the processes tests start (the main job,
# the bots) describe speech by its length.
ASR_WAIT_S = "30"  # a test that checks words waits for them, however loaded the machine


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "asr: the test checks the caller's words: the emulator's speech recognition is on (in this "
        f"process and the ones it starts) and replies wait up to {ASR_WAIT_S} s for the words",
    )
    os.environ[ASR_ENV] = "0"


@pytest.fixture(autouse=True)
def _emulator_asr(request, monkeypatch):
    """Recognition on only for tests marked ``asr`` (see :func:`pytest_configure`)."""
    if request.node.get_closest_marker("asr") is not None:
        monkeypatch.setenv(ASR_ENV, "1")
        monkeypatch.setenv(LISTEN_TIMEOUT_ENV, ASR_WAIT_S)
        # This process's recognisers start before the call, not in it: on a loaded machine a
        # first start took long enough (CI: over 8 s) that a caller's next sentence began before
        # the first was made out, and the emulator heard the two as one turn.
        from gemini_live_emulator.model import asr

        if asr.available():
            asr.warm_up()
    else:
        monkeypatch.setenv(ASR_ENV, "0")
        monkeypatch.delenv(LISTEN_TIMEOUT_ENV, raising=False)
