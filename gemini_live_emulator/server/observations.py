"""What the emulator received, in the shapes a test asserts on.

Mixed into :class:`~.emulator.LiveEmulator`; everything reads ``self.records`` (one
:class:`~..records.SessionRecord` per connection, in arrival order), so a test can look at the
raw records whenever these views are not enough.
"""

from __future__ import annotations

import asyncio
import time

from ..records import SessionRecord


class Observations:
    """Views over ``self.records`` (provided by the class this is mixed into)."""

    records: list[SessionRecord]

    @property
    def setups(self) -> list[dict]:
        """The ``setup`` body of every connection that got that far, in order."""
        return [r.setup for r in self.records if r.setup is not None]

    @property
    def tool_responses(self) -> list[dict]:
        """Every ``toolResponse`` function response received, over all connections:
        ``{"id", "name", "response", "scheduling", "willContinue"}``."""
        return [t for r in self.records for t in r.tool_responses]

    @property
    def client_content(self) -> list[dict]:
        """Every ``clientContent`` received: ``{"turns": [{"role", "text"}], "turnComplete"}``."""
        return [c for r in self.records for c in r.client_content]

    @property
    def close_codes(self) -> list[int | None]:
        """How each connection ended: the first close code sent by either side, None while
        open or after a drop with no close frame (a client sees 1006)."""
        return [r.close_code for r in self.records]

    def client_messages(self, connection: int = 0) -> list[str]:
        """Kinds of the client messages on one connection, in order (``setup``, ``audio``,
        ``text``, ``client_content``, ``tool_response``, ``activity_start``...)."""
        return self.records[connection].kinds()

    async def wait_closed(self, count: int | None = None, timeout: float = 5.0) -> list[SessionRecord]:
        """Wait until the first ``count`` connections (all so far when None) have ended.

        A client's close frame reaches the server a moment after the client's ``close()``
        returns; read close codes after this.

        Raises:
            TimeoutError: When they are still open after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            records = self.records if count is None else self.records[:count]
            if (count is None or len(records) >= count) and all(r.closed for r in records):
                return list(records)
            if time.monotonic() > deadline:
                open_ = [r.index for r in records if not r.closed]
                raise TimeoutError(f"connections still open after {timeout} s: {open_ or 'too few arrived'}")
            await asyncio.sleep(0.01)
