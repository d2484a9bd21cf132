"""The documented import path of :class:`EmulatorThread` (``gemini_live_emulator.threaded``).

The class lives in :mod:`gemini_live_emulator.server.threaded`, with the rest of the server.
"""

from .server.threaded import EmulatorThread

__all__ = ["EmulatorThread"]
