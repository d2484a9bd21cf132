"""Session resumption handles: what a handle restores, and when it is refused.

Rules reproduced (docs/live-api.md and field reports):

- A handle restores the conversation as it stood when the handle was issued (issued at setup
  and after every finished turn, while the session is resumable).
- Handles expire (the real service keeps them about two hours; configurable here).
- Resuming while the connection that issued the handle is still open is refused with 1011
  (field report).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from .. import wire
from .conversation import Conversation


@dataclass
class _Entry:
    session_id: str
    snapshot: Conversation
    expires_at: float


class ResumptionStore:
    """Handles issued by one emulator.

    Args:
        ttl_s: Lifetime of a handle in seconds.
    """

    def __init__(self, ttl_s: float):
        self.ttl_s = ttl_s
        self._handles: dict[str, _Entry] = {}
        self._open: set[str] = set()

    def connection_opened(self, session_id: str) -> None:
        """Note a live connection (its handles cannot be resumed while it stays open)."""
        self._open.add(session_id)

    def connection_closed(self, session_id: str) -> None:
        """Note that a connection ended; its handles become usable."""
        self._open.discard(session_id)

    def issue(self, session_id: str, conversation: Conversation) -> str:
        """Store a snapshot of ``conversation`` and return its new handle."""
        handle = "emu-handle-" + secrets.token_urlsafe(12)
        self._handles[handle] = _Entry(session_id, conversation.snapshot(), time.monotonic() + self.ttl_s)
        return handle

    def restore(self, handle: str) -> Conversation:
        """The conversation behind ``handle``.

        Raises:
            ProtocolError: 1011 while the issuing connection is still open; 1007 for an unknown
                or expired handle.
        """
        entry = self._handles.get(handle)
        if entry is None or entry.expires_at < time.monotonic():
            self._handles.pop(handle, None)
            raise wire.ProtocolError(
                wire.CLOSE_INVALID, f"{wire.REASON_INVALID_ARGUMENT} (unknown or expired session handle)"
            )
        if entry.session_id in self._open:
            raise wire.ProtocolError(wire.CLOSE_INTERNAL, wire.REASON_INTERNAL)
        return entry.snapshot.snapshot()
