"""Parity runs: each pattern once with Pipecat's built-in service and once with ours."""

from __future__ import annotations

import pytest

from gemini_live_emulator import EmulatorConfig, LiveEmulator

from ..conftest import build_call


@pytest.fixture
async def emu():
    """A fresh emulator per run (its records are the wire truth of one call)."""
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=3.0)) as emulator:
        yield emulator


@pytest.fixture
def late_caller(tmp_path):
    """A caller who speaks only after 3 s (room for the bot to speak first), then one turn."""
    return build_call(tmp_path / "late_caller.wav", [3.0, "cards_001.wav", 2.5])


@pytest.fixture
def two_turns(tmp_path):
    """A caller who speaks at once and again 6 s later."""
    return build_call(tmp_path / "two_turns.wav", [0.4, "cards_001.wav", 6.0, "cards_003.wav", 3.0])
