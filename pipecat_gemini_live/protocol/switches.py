"""What a move between sessions is asked to do, and what it did (plain data, no I/O).

:class:`SwitchRequest` is what the hand-over (:mod:`.handover`) is asked for, :class:`SwitchRecord`
what one switch did (for reports and ``on_switch`` handlers); :func:`model_unavailable` tells a
refused model from a refused key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .setup import SessionSpec
from ..call.connection import SessionOpenError


@dataclass
class SwitchRequest:
    """A request to move the call (or update it in place).

    Attributes:
        reason: ``start``, ``persona``, ``settings``, ``tools``, ``context``, ``goaway`` or
            ``reconnect``.
        spec: The setup the call should end up with.
        resume: Try the latest resumption handle first (goAway, reconnect).
        old_dead: The current session has already ended (reconnect).
        force_new: Open a new session even if the spec is unchanged (setup-only settings).
        seed: Give the current session the recorded history (initial context) where the
            profile allows; otherwise a new seeded session.
        respond: Have the model answer the seed's last user turn.
        gentle: Move without cutting the reply in progress: the new session is made while the
            old one keeps talking and listening, and takes over when the reply is over (a
            goAway re-seed, a generation setting). A persona change is not gentle: it cuts.
        dead_session: Index of the session whose end asked for this reconnect (a reconnect is
            moot once the call has moved to another live session).
        label: A name for logs and reports (a persona name).
        requested_at: ``time.monotonic()`` of the request.
    """

    reason: str
    spec: SessionSpec
    resume: bool = False
    old_dead: bool = False
    force_new: bool = False
    seed: bool = False
    respond: bool = False
    gentle: bool = False
    dead_session: int | None = None
    label: str | None = None
    requested_at: float = field(default_factory=time.monotonic)


@dataclass
class SwitchRecord:
    """What one switch did, for reports and ``on_switch`` handlers.

    Attributes:
        reason: Why (see :class:`SwitchRequest`).
        at_s: When it was requested, seconds on the call clock.
        applied_s: When the new setup took effect (None if it failed).
        method: ``context_update``, ``handover`` (new seeded session) or ``resume``.
        switch_gap_ms: How long caller audio reached no live session: from the request (or,
            for a goAway move made by re-seeding, from the moment the old session stopped
            listening) to the new session ready to answer.
        history_turns_carried: Turns seeded into the new session.
        in_frames_held: Caller frames held during the switch (then replayed).
        in_frames_dropped: Caller frames lost during the switch.
        in_frames_replayed: Frames the old session got but never answered, sent again to the
            new one.
        attempts: Connection attempts made.
        ok: Whether the switch took effect.
        error: Why it failed.
        system_instruction: The instruction active afterwards.
        label: The request's label.
        session_index: Index of the session the call is on afterwards.
        fallbacks: Models refused on the way (``"refused -> next"``), when ``fallback_models``
            were used.
    """

    reason: str
    at_s: float
    applied_s: float | None = None
    method: str = "handover"
    switch_gap_ms: float | None = None
    history_turns_carried: int = 0
    in_frames_held: int = 0
    in_frames_dropped: int = 0
    in_frames_replayed: int = 0
    attempts: int = 0
    ok: bool = False
    error: str | None = None
    system_instruction: str | None = None
    label: str | None = None
    session_index: int | None = None
    fallbacks: list[str] = field(default_factory=list)


def model_unavailable(e: SessionOpenError) -> bool:
    """Whether a refused connect says the model itself is unknown or not served (1008 "not
    found" / "not supported", HTTP 404), as opposed to a bad key or a policy refusal."""
    reason = (e.reason or "").lower()
    if e.code == 1008:
        return "not found" in reason or "not supported" in reason
    return e.code is None and "http 404" in reason


class SwitchFailed(Exception):
    """A switch could not open its session.

    Attributes:
        retryable: Whether the cause was transient (the retries ran out) or a refusal.
    """

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable
