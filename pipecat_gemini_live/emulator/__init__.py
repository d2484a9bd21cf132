"""Moved: the emulator is the top-level package :mod:`gemini_live_emulator`.

This path re-exports its public names for one release so that existing imports keep working
(``from pipecat_gemini_live.emulator import LiveEmulator``); new code imports
``gemini_live_emulator``.
"""

from gemini_live_emulator import EmulatorConfig, EmulatorThread, LiveEmulator, LocalCA, Reply, SessionRecord

__all__ = ["EmulatorConfig", "EmulatorThread", "LiveEmulator", "LocalCA", "Reply", "SessionRecord"]
