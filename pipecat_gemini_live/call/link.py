"""The one seam between a call's helpers and the Live session it is on.

Every helper that sends something to the server (caller audio, typed text, application turns,
notes, tool responses, images) asks the link two things: which session the call is on
(:attr:`SessionLink.session`) and whether that session takes input now
(:meth:`SessionLink.accepting`: it is set up and the call is not holding input for a move).
What cannot go now waits here, in one order (one sequence for everything bound for the
server), and :meth:`SessionLink.release` sends it in that order when a session can take it:

- caller audio in the bounded hold (:attr:`SessionLink.audio`): its own FIFO so that the bound
  drops the oldest audio without walking past messages; each frame carries its place in the
  sequence, and the caller's path sends it (it knows the turn signals needed around it);
- every other message (:meth:`SessionLink.defer`: text, turns, notes, tool responses), redone
  by the helper that made it against the session then current (a tool response for a call the
  new session never made becomes a note, a turn takes the wire form of the new profile).

While nothing waits, caller audio goes straight to the session: the hot path takes no queue,
and its one extra check (a release running?) measured within noise of the check before it
(about 170 ns per frame either way; docs/design.md, "Caller audio in"). While a release runs,
only the releasing task is accepted, so input arriving meanwhile waits behind what arrived
before it.

Messages sent to the session since its last resumption checkpoint (a
``sessionResumptionUpdate`` with a new handle) are also kept, the same way
(:meth:`SessionLink.sent`): a session resumed from that handle is restored as the server was
when it issued the handle, without them, so a resume sends them again
(:meth:`SessionLink.resend_unconfirmed`; caller audio has its own replay, :mod:`.replay_buffer`).

The switcher is the only writer of :attr:`SessionLink.holding` and the only caller of
:meth:`SessionLink.activate`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger

from .audio_hold import AudioCounters, AudioHold, HeldChunk
from .connection import LiveSession


@dataclass
class Deferred:
    """One message that waits in the outbox.

    Attributes:
        kind: What it is (``text``, ``note``, ``turns``, ``tool_response``), for logs and tests.
        payload: The message as its helper keeps it.
        send: Delivers it again (the helper's own delivery, which may defer it once more).
        seq: Its place in the order of everything that waits (shared with held audio).
    """

    kind: str
    payload: Any
    send: Callable[[], Awaitable[None]]
    seq: int = 0


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
        self._tickets = itertools.count(1)
        self.audio = AudioHold(max_held_audio_s, self.counters, ticket=self._tickets.__next__)
        self._outbox: deque[Deferred] = deque()
        self._later: list[Deferred] = []  # deferred again by the release itself: the next one
        self._releaser: asyncio.Task | None = None
        self._listeners: list[Callable[[LiveSession], Awaitable[None] | None]] = []
        self._unconfirmed: list[Deferred] = []  # sent since the session's last checkpoint

    def accepting(self) -> bool:
        """Whether the session the call is on takes input now (set up, no move holds it, and
        no release is sending what waited, unless the asker is that release)."""
        s = self.session
        return (
            s is not None
            and s.ready
            and not self.holding
            and (self._releaser is None or asyncio.current_task() is self._releaser)
        )

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
        self._unconfirmed.clear()
        for listener in self._listeners:
            result = listener(session)
            if result is not None:
                await result

    def defer(self, kind: str, payload: Any, send: Callable[[], Awaitable[None]]) -> None:
        """Keep a message for the next session that can take it, after everything kept."""
        item = Deferred(kind, payload, send, next(self._tickets))
        if self._releaser is not None and asyncio.current_task() is self._releaser:
            self._later.append(item)  # refused again on this session: it waits for the next
        else:
            self._outbox.append(item)

    def sent(self, kind: str, payload: Any, send: Callable[[], Awaitable[None]]) -> None:
        """Note a message just sent to the session: ``send`` delivers it again, to the session
        then current, should a resume lose it (see the module's notes)."""
        self._unconfirmed.append(Deferred(kind, payload, send))

    def checkpoint(self) -> None:
        """The session issued a resumption handle: what it was sent so far is in its state."""
        self._unconfirmed.clear()

    def resend_unconfirmed(self) -> int:
        """Queue again, ahead of what waits, the messages sent since the old session's last
        checkpoint (the call resumes from that handle); returns how many."""
        items, self._unconfirmed = self._unconfirmed, []
        for item in reversed(items):
            item.seq = 0  # before any audio held for the move: it was sent before that audio
            self._outbox.appendleft(item)
        return len(items)

    @property
    def waiting(self) -> list[Deferred]:
        """The messages that wait, oldest first."""
        return [*self._outbox, *self._later]

    async def release(self, send_audio: Callable[[HeldChunk], Awaitable[bool]] | None = None) -> int:
        """Send everything that waits, held audio and messages, in the order it arrived.

        Args:
            send_audio: Sends one held frame; False keeps it (and the audio after it) held. None:
                messages only (the audio stays held).

        Returns:
            Audio frames sent. A message that defers itself again waits for the next release.
        """
        sent = 0
        self._releaser = asyncio.current_task()
        try:
            while True:
                chunk = self.audio.peek() if send_audio is not None else None
                message = self._outbox[0] if self._outbox else None
                if chunk is None and message is None:
                    break
                if message is None or (chunk is not None and chunk.seq < message.seq):
                    self.audio.pop()
                    if not await send_audio(chunk):
                        self.audio.push_front(chunk)
                        break
                    sent += 1
                    continue
                self._outbox.popleft()
                try:
                    await message.send()
                except Exception as e:  # the helper reports its own failures; keep going
                    logger.warning(f"{self.session}: a waiting {message.kind} was not delivered ({e})")
        finally:
            self._releaser = None
            self._outbox.extend(self._later)
            self._later.clear()
        return sent

    def forget(self) -> int:
        """Drop everything still waiting (the call ended); returns held audio frames dropped."""
        held = len(self.audio)
        self.audio.discard()
        self._outbox.clear()
        self._later.clear()
        self._unconfirmed.clear()
        return held
