"""A local emulator of the Gemini Live API: a real TLS WebSocket server speaking the wire protocol.

See :class:`LiveEmulator`. Run it standalone with ``python -m pipecat_gemini_live.emulator``.
"""

from .certs import LocalCA
from .config import EmulatorConfig
from .records import Reply, SessionRecord
from .server import LiveEmulator

__all__ = ["EmulatorConfig", "LiveEmulator", "LocalCA", "Reply", "SessionRecord"]
