"""The one seam between a call's helpers and the Live session it is on.

Every helper that sends something to the server (caller audio, typed text, application turns,
notes, tool responses, images) asks the link two things: which session the call is on
(:attr:`SessionLink.session`) and whether that session takes input now
(:meth:`SessionLink.accepting`: it is set up and the call is not holding input for a move).
What cannot go now waits here, in order, and goes out when a session can take it:

- caller audio in the bounded hold (:attr:`SessionLink.audio`, replayed by the caller's own
  path, which knows the turn signals it needs around it);
- everything else in one ordered outbox (:meth:`SessionLink.defer`), delivered by
  :meth:`SessionLink.flush_outbox` once the audio is out, each message redone by the helper that
  made it, against the session then current (a tool response for a call the new session never
  made becomes a note, a turn takes the wire form of the new session's profile).

The switcher is the only writer of :attr:`SessionLink.holding` and the only caller of
:meth:`SessionLink.activate`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .audio_hold import AudioCounters, AudioHold
from .connection import LiveSession


@dataclass
class Deferred:
    """One message that waits in the outbox.

    Attributes:
        kind: What it is (``text``, ``note``, ``turns``, ``tool_response``), for logs and tests.
        payload: The message as its helper keeps it.
        send: Delivers it again (the helper's own delivery, which may defer it once more).
    """

    kind: str
    payload: Any
    send: Callable[[], Awaitable[None]]


@dataclass
class CallHooks:
    """What a helper may ask of the Pipecat processor that hosts the call, and nothing more.

    Attributes:
        push_frame: ``push_frame(frame, direction=DOWNSTREAM)``.
        push_error: ``push_error(message, exception=None, force_treat_as_permanent=False)``
            (Pipecat's; permanent ends the call).
        broadcast_frame: ``broadcast_frame(frame_class, **kwargs)``: both directions.
        broadcast_interruption: ``broadcast_interruption()``.
        create_task: ``create_task(coroutine, name=None) -> asyncio.Task``.
        cancel_task: ``cancel_task(task, timeout=None)``.
        warn_once: ``warn_once(key, message)``: one warning per call.
        call_time: ``call_time(monotonic=None) -> float``: seconds on the call's clock.
    """

    push_frame: Callable[..., Awaitable[None]]
    push_error: Callable[..., Awaitable[None]]
    broadcast_frame: Callable[..., Awaitable[None]]
    broadcast_interruption: Callable[[], Awaitable[None]]
    create_task: Callable[..., asyncio.Task]
    cancel_task: Callable[..., Awaitable[None]]
    warn_once: Callable[[str, str], None]
    call_time: Callable[..., float]


class SessionLink:
    """The session the call is on, the holding state of a move, and what waits for a session.

    Args:
        max_held_audio_s: Bound of the caller audio hold, seconds (the oldest audio goes first).
    """

    def __init__(self, max_held_audio_s: float):
        self.session: LiveSession | None = None
        self.holding = False
        self.cut_by_drop = False  # the last unexpected end of a session cut a reply
        self.counters = AudioCounters()
        self.audio = AudioHold(max_held_audio_s, self.counters)
        self._outbox: deque[Deferred] = deque()
        self._listeners: list[Callable[[LiveSession], Awaitable[None] | None]] = []

    def accepting(self) -> bool:
        """Whether the session the call is on takes input now (set up, and no move holds it)."""
        s = self.session
        return s is not None and s.ready and not self.holding

    @property
    def live(self) -> bool:
        """Whether the call is on a session that is set up (holding or not)."""
        return self.session is not None and self.session.ready

    def on_session_changed(self, listener: Callable[[LiveSession], Awaitable[None] | None]) -> None:
        """Call ``listener(session)`` each time the call moves onto a session."""
        self._listeners.append(listener)

    async def activate(self, session: LiveSession) -> None:
        """Make ``session`` the one the call is on (the switcher's take-over)."""
        self.session = session
        for listener in self._listeners:
            result = listener(session)
            if result is not None:
                await result

    def defer(self, kind: str, payload: Any, send: Callable[[], Awaitable[None]]) -> None:
        """Keep a message for the next session that can take it, after those already kept."""
        self._outbox.append(Deferred(kind, payload, send))

    @property
    def waiting(self) -> list[Deferred]:
        """The outbox, oldest first."""
        return list(self._outbox)

    async def flush_outbox(self) -> int:
        """Deliver what waited, in order; returns how many messages were tried."""
        pending, self._outbox = self._outbox, deque()
        for item in pending:
            await item.send()
        return len(pending)

    def forget(self) -> int:
        """Drop everything still waiting (the call ended); returns held audio frames dropped."""
        held = len(self.audio)
        self.audio.discard()
        self._outbox.clear()
        return held
