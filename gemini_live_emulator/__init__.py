"""A local emulator of the Gemini Live API: a real TLS WebSocket server speaking the wire protocol.

See :class:`LiveEmulator`. Run it standalone with ``python -m gemini_live_emulator``. It imports
neither Pipecat nor any Live API client: any client (google-genai, ``@google/genai``, LiveKit's
plugin, a raw WebSocket) can be tested against it.

Names are imported on first use, so that loading the pytest plugin (``gemini_live_emulator.
pytest_plugin``) or one submodule costs nothing more.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import EmulatorConfig
    from .records import Reply, SessionRecord
    from .server.certs import LocalCA
    from .server.emulator import LiveEmulator
    from .server.threaded import EmulatorThread

_EXPORTS = {
    "EmulatorConfig": ".config",
    "EmulatorThread": ".server.threaded",
    "LiveEmulator": ".server.emulator",
    "LocalCA": ".server.certs",
    "Reply": ".records",
    "SessionRecord": ".records",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
