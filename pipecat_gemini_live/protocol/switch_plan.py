"""Moving a call between sessions, decided without I/O: what a switch is asked for
(:class:`SwitchRequest`), what it did (:class:`SwitchRecord`), and the plan that connects them.

:func:`plan` reads the state of the call (the session it is on, the model profiles involved) and
a request, and says which of the outcomes the runtime (:mod:`pipecat_gemini_live.call.switcher`)
carries out:

=================  ===========================================================================
``MOOT``           a reconnect for a session the call has already left: nothing to do
``UNCHANGED``      the live session already has this setup
``SEED_IN_PLACE``  the live session takes the conversation as ``clientContent``
``CONTEXT_UPDATE`` the live session takes the new instruction / tools as ``contextUpdate``
``NEW_SESSION``    a new session: seeded with the history (a hand-over, a re-seed), or resumed
                   from a handle (``resume_handle``)
=================  ===========================================================================

Requests that arrive while a switch is in flight merge (:func:`merge`): the latest setup wins,
and what the earlier ones needed (a dead session, a resume, a seed, an answer) is kept.
:func:`supersedes` says when a queued request makes the one in flight pointless.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum

from .profiles import HistorySeeding, ModelProfile
from .setup import SessionSpec


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


class PlanKind(str, Enum):
    """What a switch does (see the module's table)."""

    MOOT = "moot"
    UNCHANGED = "unchanged"
    SEED_IN_PLACE = "seed"
    CONTEXT_UPDATE = "context_update"
    NEW_SESSION = "new_session"


class ReplyPolicy(str, Enum):
    """What happens to a reply in progress before the switch goes on."""

    KEEP = "keep"  # it plays on (a start, a gentle move, a move off a dead session)
    CUT = "cut"  # it is cut and the rest of it dropped (``LiveOptions.cut_reply_on_switch``)
    WAIT = "wait"  # the switch waits for it to end, bounded by ``finish_reply_timeout_s``


class HoldPolicy(str, Enum):
    """When caller audio starts being held for the new session."""

    NONE = "none"  # no new session: the audio keeps flowing to the live one
    NOW = "now"  # from the request: the audio belongs to the new setup
    AFTER_REPLY = "after_reply"  # a gentle move: once the old reply is over, just before take-over


@dataclass(frozen=True)
class SessionView:
    """What the planner needs to know of the session the call is on.

    Attributes:
        index: The session's index in the call.
        ready: Whether it is open and set up.
        spec: The setup it runs.
        profile: The profile of its model.
        handle: Its latest resumption handle, if any.
        realtime_input_sent: Whether realtime input (audio, text, images) went to it already.
    """

    index: int
    ready: bool
    spec: SessionSpec
    profile: ModelProfile
    handle: str | None = None
    realtime_input_sent: bool = False


@dataclass(frozen=True)
class CallState:
    """The call as the planner sees it.

    Attributes:
        session: The session the call is on (None before the first one).
        target_profile: The profile of the model the request asks for.
        cut_reply_on_switch: ``LiveOptions.cut_reply_on_switch``.
    """

    session: SessionView | None
    target_profile: ModelProfile
    cut_reply_on_switch: bool = True


@dataclass(frozen=True)
class Plan:
    """What one switch does.

    Attributes:
        kind: The outcome (see :class:`PlanKind`).
        reply: What happens to a reply in progress first.
        hold: When caller audio starts being held.
        resume_handle: The handle a new session resumes (break before make), or None for a new
            session seeded with the history.
        retry: Retry opening with backoff: the call has no live session to stay on (there is
            none, or a resume closes it before opening: break before make).
        keep_old: The live session the call stays on while the new one opens (make before
            break), as its index; None when there is none.
        context_changes: The fields a ``contextUpdate`` carries (``system_instruction``,
            ``tools``).
    """

    kind: PlanKind
    reply: ReplyPolicy = ReplyPolicy.KEEP
    hold: HoldPolicy = HoldPolicy.NONE
    resume_handle: str | None = None
    retry: bool = False
    keep_old: int | None = None
    context_changes: frozenset[str] = frozenset()

    @property
    def method(self) -> str:
        """The name a :class:`SwitchRecord` gives this outcome."""
        if self.kind is PlanKind.NEW_SESSION:
            return "resume" if self.resume_handle else "handover"
        return self.kind.value


def can_seed_in_place(session: SessionView, profile: ModelProfile) -> bool:
    """Whether ``session`` takes the conversation as ``clientContent`` now: always where the
    profile takes it mid-session, else only as initial history, before any realtime input."""
    if profile.mid_session_client_content:
        return True
    return profile.history_seeding is HistorySeeding.INITIAL_HISTORY and not session.realtime_input_sent


def plan(state: CallState, req: SwitchRequest) -> Plan:
    """Decide what ``req`` does to the call in ``state`` (pure; see the module's table)."""
    old = state.session
    if req.dead_session is not None and old is not None and old.ready and old.index != req.dead_session:
        return Plan(PlanKind.MOOT)
    alive = old is not None and old.ready and not req.old_dead
    profile = state.target_profile
    same_profile = old is not None and old.profile == profile
    in_place = alive and same_profile and not req.resume and not req.force_new
    cut_or_wait = ReplyPolicy.CUT if state.cut_reply_on_switch else ReplyPolicy.WAIT
    if in_place:
        if old.spec == req.spec and not req.seed:
            return Plan(PlanKind.UNCHANGED)
        if req.seed and old.spec == req.spec and can_seed_in_place(old, profile):
            return Plan(PlanKind.SEED_IN_PLACE)
        if not req.seed and profile.context_update and not req.spec.setup_only_changes(old.spec):
            return Plan(
                PlanKind.CONTEXT_UPDATE,
                reply=cut_or_wait,
                context_changes=frozenset(req.spec.context_changes(old.spec)),
            )
    # A gentle move (a goAway re-seed, a generation setting) keeps the old session talking and
    # listening until the new one is ready and the old reply is over: the caller hears no seam.
    # Every other move holds the caller's audio from the start (it belongs to the new setup).
    late_hold = alive and req.gentle and not req.resume
    reply = cut_or_wait if alive and not req.gentle and req.reason != "start" else ReplyPolicy.KEEP
    handle = old.handle if (req.resume and old is not None and old.handle) else None
    return Plan(
        PlanKind.NEW_SESSION,
        reply=reply,
        hold=HoldPolicy.AFTER_REPLY if late_hold else HoldPolicy.NOW,
        resume_handle=handle,
        # A resume closes the live session before it opens (the server refuses a handle while
        # its connection is open): from then on there is nothing to fall back on.
        retry=not alive or handle is not None,
        keep_old=old.index if alive else None,
    )


def merge(queued: SwitchRequest | None, newer: SwitchRequest) -> SwitchRequest:
    """The one request that stands for ``queued`` and the ``newer`` one that supersedes it:
    the newer setup and reason, with every need of the earlier one kept (a dead session, a
    resume, a new session, a seed, an answer), gentle only if both were, dated from the first."""
    if queued is None:
        return newer
    newer.old_dead = newer.old_dead or queued.old_dead
    newer.resume = newer.resume or queued.resume
    newer.force_new = newer.force_new or queued.force_new
    newer.seed = newer.seed or queued.seed
    newer.respond = newer.respond or queued.respond
    newer.gentle = newer.gentle and queued.gentle
    newer.requested_at = min(newer.requested_at, queued.requested_at)
    return newer


def supersedes(queued: SwitchRequest | None, running: SwitchRequest) -> bool:
    """Whether ``queued`` makes the switch ``running`` pointless before it takes over: it asks
    for another setup. A reconnect always finishes (the call has no session without it)."""
    return queued is not None and queued.spec != running.spec and running.reason != "reconnect"
