"""The emulated model's side of function calling: pending calls and their results.

Blocking calls (the default, and the only kind 3.1 accepts) stop the model until every
response has come back; ``NON_BLOCKING`` ones let it keep talking, and each response's
``scheduling`` says what to do with the result: ``INTERRUPT`` (say it now, cutting the current
reply), ``WHEN_IDLE`` (say it after the current reply) or ``SILENT`` (take it in, mention it
next time). ``willContinue`` marks an intermediate result. Source: docs/live-api.md and the
Live API tools guide.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from ..scenario import ToolStep


@dataclass
class PendingCall:
    """A call the model made and is waiting on."""

    id: str
    name: str
    args: dict
    blocking: bool
    partial: list[str] = field(default_factory=list)


def summarise(name: str, response) -> str:
    """A result as the model repeats it: ``get_weather -> {"temp_c":21}``."""
    try:
        body = json.dumps(response, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        body = str(response)
    return f"{name} returned {body[:120]}"


class ToolDesk:
    """Calls in flight for one session."""

    def __init__(self, session_tag: str):
        self._tag = session_tag
        self._count = 0
        self.pending: dict[str, PendingCall] = {}
        self.notes: list[str] = []
        self._changed = asyncio.Event()

    def issue(self, step: ToolStep, declared: dict[str, str]) -> list[PendingCall]:
        """The calls of ``step`` the model may make (declared ones, or all when forced)."""
        calls = []
        for call in step.calls:
            behaviour = declared.get(call["name"])
            if behaviour is None and not step.force:
                continue
            self._count += 1
            pending = PendingCall(
                id=f"{self._tag}-call-{self._count}",
                name=call["name"],
                args=dict(call.get("args") or {}),
                blocking=(behaviour or "BLOCKING").upper() != "NON_BLOCKING",
            )
            self.pending[pending.id] = pending
            calls.append(pending)
        return calls

    def blocking_ids(self) -> list[str]:
        """Ids of blocking calls still waiting."""
        return [c.id for c in self.pending.values() if c.blocking]

    async def wait_blocking(self) -> None:
        """Return once no blocking call is pending (answered or cancelled)."""
        while self.blocking_ids():
            self._changed.clear()
            await self._changed.wait()

    def cancel_blocking(self) -> list[str]:
        """Drop every pending blocking call (a barge-in cancels them); returns their ids."""
        ids = self.blocking_ids()
        for call_id in ids:
            del self.pending[call_id]
        self._changed.set()
        return ids

    def resolve(self, call_id: str | None, response, will_continue: bool | None) -> PendingCall | None:
        """Take one response; returns the call it finishes (None if unknown or intermediate)."""
        call = self.pending.get(call_id or "")
        if call is None:
            return None
        if will_continue:
            call.partial.append(summarise(call.name, response))
            return None
        del self.pending[call.id]
        self._changed.set()
        return call
