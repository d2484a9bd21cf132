"""Faults on demand: what real calls suffer, as configuration rather than code paths.

A :class:`Fault` says *what* goes wrong and a trigger says *when*:

- ``close``: close with a code (1000, 1007, 1008, 1011...) and reason;
- ``drop``: drop the TCP connection with no close frame (the client sees 1006);
- ``stall``: stop sending anything for ``duration_s`` while the socket stays open;
- ``malformed``: send a frame the client cannot parse;
- ``slow_setup``: delay ``setupComplete`` by ``duration_s``;
- ``refuse``: refuse the next ``count`` connection attempts (HTTP 503).

Triggers: a phase (``setup``, ``speaking`` while the caller talks, ``reply`` mid-reply,
``tool_call`` while a tool call is pending), ``at_s`` seconds after ``setupComplete``, or
``after_messages`` client messages; ``connection`` picks which connection (0 = the first; None =
the next one to reach the trigger). Each fault fires once.

The CLI takes the same as text (:meth:`Fault.parse`)::

    close:1011@reply           close with 1011 mid-reply
    close:1000@t=5             close with 1000, 5 s after setupComplete
    drop@messages=200          drop after 200 client messages
    stall:8@reply              go quiet for 8 s mid-reply
    malformed@speaking         send an unparsable frame while the caller speaks
    slow_setup:2.5             delay setupComplete 2.5 s
    refuse:3                   refuse the next 3 connects
    close:1011@reply#2         ... on connection 2 only
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

PHASES = ("setup", "speaking", "reply", "tool_call")


class FaultKind(str, Enum):
    """What goes wrong."""

    CLOSE = "close"
    DROP = "drop"
    STALL = "stall"
    MALFORMED = "malformed"
    SLOW_SETUP = "slow_setup"
    REFUSE = "refuse"


@dataclass
class Fault:
    """One fault and its trigger.

    Attributes:
        kind: What happens.
        code: Close code (``close``).
        reason: Close reason (``close``); the real service's wording by default.
        duration_s: Stall or setup delay, seconds.
        count: Connects to refuse (``refuse``).
        phase: Fire when the connection enters this phase (see module docs).
        at_s: Fire this long after ``setupComplete``.
        after_messages: Fire after this many client messages.
        connection: Only on this connection index (None: the next one to reach the trigger).
    """

    kind: FaultKind
    code: int | None = None
    reason: str | None = None
    duration_s: float = 0.0
    count: int = 1
    phase: str | None = None
    at_s: float | None = None
    after_messages: int | None = None
    connection: int | None = None
    fired: bool = False

    def __post_init__(self):
        self.kind = FaultKind(self.kind)
        if self.phase is not None and self.phase not in PHASES:
            raise ValueError(f"unknown fault phase {self.phase!r} (one of {', '.join(PHASES)})")
        if self.kind is FaultKind.CLOSE and self.code is None:
            raise ValueError("a close fault needs a code (close:1011)")
        if self.kind is FaultKind.SLOW_SETUP and self.phase is None:
            self.phase = "setup"
        if (
            self.kind not in (FaultKind.REFUSE, FaultKind.SLOW_SETUP)
            and self.phase is None
            and self.at_s is None
            and self.after_messages is None
        ):
            raise ValueError(f"fault {self.kind.value} needs a trigger (@phase, @t=S or @messages=N)")

    @classmethod
    def parse(cls, text: str) -> "Fault":
        """Parse the CLI form (see module docs).

        Raises:
            ValueError: For text that is not a fault.
        """
        m = re.fullmatch(r"\s*([a-z_]+)(?::([0-9.]+))?(?:@([a-z_]+)(?:=([0-9.]+))?)?(?:#(\d+))?\s*", text)
        if not m:
            raise ValueError(f"not a fault: {text!r} (e.g. close:1011@reply, drop@t=5, refuse:2)")
        kind, value, trigger, trigger_value, connection = m.groups()
        try:
            fkind = FaultKind(kind)
        except ValueError:
            raise ValueError(f"unknown fault {kind!r} (one of {', '.join(k.value for k in FaultKind)})") from None
        fields: dict = {"kind": fkind, "connection": int(connection) if connection else None}
        if value is not None:
            if fkind is FaultKind.CLOSE:
                fields["code"] = int(float(value))
            elif fkind is FaultKind.REFUSE:
                fields["count"] = int(float(value))
            else:
                fields["duration_s"] = float(value)
        if trigger == "t":
            fields["at_s"] = float(trigger_value or 0)
        elif trigger == "messages":
            fields["after_messages"] = int(float(trigger_value or 0))
        elif trigger is not None:
            fields["phase"] = trigger
        return cls(**fields)

    def matches_connection(self, index: int) -> bool:
        """Whether this fault may fire on connection ``index``."""
        return not self.fired and (self.connection is None or self.connection == index)


class FaultPlan:
    """The faults of one emulator run, consumed as they fire."""

    def __init__(self, faults: list[Fault] | None = None):
        self.faults: list[Fault] = list(faults or [])
        self.fired: list[tuple[int, Fault]] = []
        self._refusals_left = 0

    def add(self, fault: Fault) -> None:
        """Add a fault while the emulator runs (tests)."""
        self.faults.append(fault)

    def take_refusal(self) -> bool:
        """Whether the connect now arriving is to be refused."""
        for fault in self.faults:
            if fault.kind is FaultKind.REFUSE and not fault.fired:
                fault.fired = True
                self._refusals_left += fault.count
                self.fired.append((-1, fault))
        if self._refusals_left > 0:
            self._refusals_left -= 1
            return True
        return False

    def _take(self, index: int, predicate) -> Fault | None:
        for fault in self.faults:
            if fault.kind is not FaultKind.REFUSE and fault.matches_connection(index) and predicate(fault):
                fault.fired = True
                self.fired.append((index, fault))
                return fault
        return None

    def at_phase(self, index: int, phase: str) -> Fault | None:
        """A fault to fire as connection ``index`` enters ``phase``."""
        return self._take(index, lambda f: f.phase == phase)

    def after_messages(self, index: int, count: int) -> Fault | None:
        """A fault to fire after ``count`` client messages on connection ``index``."""
        return self._take(index, lambda f: f.after_messages is not None and count >= f.after_messages)

    def timed(self, index: int) -> list[Fault]:
        """Faults with ``at_s`` that connection ``index`` should schedule (taken now)."""
        out = []
        while (fault := self._take(index, lambda f: f.at_s is not None)) is not None:
            out.append(fault)
        return out
