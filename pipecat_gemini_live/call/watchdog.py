"""Keeping the call's session healthy: goAway hand-overs, the stall watchdog, quiet input.

**goAway.** The server announces the end of a connection (about 10 minutes in, ``timeLeft``
50-60 s ahead). The call moves at the next turn boundary: the bot is not replying, the caller
is not mid-sentence, and the session is resumable; while the deadline is far off, also no
answer is owed (to a sentence just finished, a typed turn or a tool result: a move then leaves
the answer to a new session, a setup round trip later) (``sessionResumptionUpdate.resumable``). It
then resumes with the latest handle (``goaway_strategy="resume"``, the default: the server
keeps the full context; resuming while the old connection is open is refused, so the old one
closes first and the caller's audio is held for the setup round trip) or moves to a new session
seeded with the history made before the old one closes (``"reseed"``: no gap at all, but the
context is carried as text). If no boundary comes before the deadline minus a margin, the call
moves anyway, by re-seeding.

**Stall watchdog.** A session that stops talking while a reply is owed (the caller finished a
sentence, a reply is mid-stream, a tool result was sent) and sends nothing for
``stall_timeout_s`` is treated as dead: it is aborted and the call reconnects through the usual
policy (resume, held audio replayed).

**Quiet input.** When caller audio stops arriving, ``audioStreamEnd`` is sent (see
:meth:`~.caller_audio.CallerAudio.end_stream_if_quiet`).

**No polling.** One task sleeps until the earliest moment a condition can flip (a goAway's
deadline margin, the caller's quiet window, a stall deadline, the input's quiet deadline) and is
woken early by the events that change the picture (:meth:`SessionWatchdog.poke`: a reply
settled or owed, a resumption update, a session change, a switch done, audio after a quiet
spell, a caller sentence beginning). A server message only moves the stall deadline later, so
it wakes nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from loguru import logger

from .caller_audio import CallerAudio
from .connection import LiveSession
from .link import CallHooks, SessionLink
from .live_options import LiveOptions
from .replies import ServerEvents

CALLER_QUIET_S = 0.3  # the caller counts as quiet (a turn boundary) after this much silence, s
# A finished caller sentence no reply has started for is still waiting for its answer (not a turn
# boundary) for this long after it ended, s: a model that has not begun by then is not going to.
ANSWER_DUE_S = 3.0
# ... but waiting for that answer only while the goAway leaves this much room beyond the margin
# for the answer to be given, s. Real goAways come 50-60 s ahead; with a few seconds left, moving
# at once (the new session is replayed the turn) beats meeting the deadline mid-answer.
ANSWER_ROOM_S = 10.0
END_OF_TURN_S = 1.0  # a caller sentence counts as finished (owing an answer) after this, s


class SessionWatchdog:
    """goAway planning, stall detection and quiet input for one call.

    Args:
        link: The seam to the session.
        hooks: Tasks and errors of the hosting processor.
        caller: The caller's audio (its voice clock, its quiet input).
        replies: The bot's replies (whether one is playing).
        options: The call's :class:`~.live_options.LiveOptions`.
        switching: Whether a switch is in flight.
        request_switch: ``request_switch(reason, **flags)``: asks the switcher to move the call.
        abandon: ``abandon(session, reason)``: gives up a stalled session and reconnects.
    """

    def __init__(
        self,
        *,
        link: SessionLink,
        hooks: CallHooks,
        caller: CallerAudio,
        replies: ServerEvents,
        options: LiveOptions,
        switching: Callable[[], bool],
        request_switch: Callable[..., Awaitable[None]],
        abandon: Callable[[LiveSession, str], Awaitable[None]],
    ):
        self.link = link
        self.hooks = hooks
        self.caller = caller
        self.replies = replies
        self.options = options
        self.switching = switching
        self.request_switch = request_switch
        self.abandon = abandon
        self._task: asyncio.Task | None = None
        self._last_message_at = time.monotonic()
        self._owed_since: float | None = None
        self._goaway: tuple[LiveSession, float] | None = None
        self._changed = asyncio.Event()
        self._waiting_for_audio = False
        self._waiting_for_speech = False
        self.stalls = 0

    def start(self) -> None:
        """Begin watching (pipeline start)."""
        if self._task is None:
            self._task = self.hooks.create_task(self._run(), "live-session-guard")

    async def stop(self) -> None:
        """Stop watching (hang-up)."""
        if self._task is not None:
            await self.hooks.cancel_task(self._task)
            self._task = None

    # -- inputs ------------------------------------------------------------------------------

    def poke(self) -> None:
        """Something the watchdog decides on changed: look again now."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def saw_message(self) -> None:
        """The active session sent something: it is alive (a later stall deadline, no wake)."""
        self._last_message_at = time.monotonic()

    def audio_arrived(self) -> None:
        """Caller audio arrived: wakes the watchdog only when a deadline appears (a quiet-input
        deadline, or a caller sentence that will want an answer), not at every frame."""
        after = self.options.audio_stream_end_after_s
        if self._waiting_for_audio and after is not None and self.caller.quiet_deadline(after) is not None:
            self._waiting_for_audio = False
            self.poke()
        if self._waiting_for_speech and self.caller.tail.unanswered_for() is not None:
            # The caller began a sentence: its end starts a stall deadline (whatever the
            # quiet-input setting, which may be off).
            self._waiting_for_speech = False
            self.poke()

    def reply_owed(self) -> None:
        """The model owes an answer from now (a tool result or a typed turn went out)."""
        self._owed_since = time.monotonic()
        self.poke()

    @property
    def owed(self) -> bool:
        """Whether the model owes an answer (a tool result or a typed turn went out)."""
        return self._owed_since is not None

    def reply_settled(self) -> None:
        """A reply started, ended or a turn completed: nothing is owed."""
        self._owed_since = None
        self.poke()

    def session_changed(self, session: LiveSession | None = None) -> None:
        """A new session took over: its clock starts now."""
        self._last_message_at = time.monotonic()
        self._owed_since = None
        self.poke()

    def go_away(self, session: LiveSession, time_left_s: float) -> None:
        """``goAway`` arrived on ``session``: plan the move."""
        self._goaway = (session, time.monotonic() + max(0.0, time_left_s))
        self.poke()

    async def wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``done()`` holds, re-checked at each :meth:`poke`, at most ``timeout``
        seconds; returns whether it holds."""
        deadline = time.monotonic() + timeout
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                return done()
        return True

    # -- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            changed = self._changed
            wake_at: list[float] = []
            for check in (self._check_go_away, self._check_stall, self._check_quiet_input):
                try:
                    await check(wake_at)
                except Exception as e:  # the watchdog must outlive whatever it saw
                    logger.exception(f"{self.link.session}: session watchdog error: {e}")
                    wake_at.append(time.monotonic() + 0.5)  # look again soon
            timeout = max(0.0, min(wake_at) - time.monotonic()) if wake_at else None
            try:
                await asyncio.wait_for(changed.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    def _caller_quiet_at(self) -> float | None:
        """When the caller has been quiet long enough for a turn boundary (None: already)."""
        last = self.caller.clock.last_voice_at
        if last is None or time.monotonic() - last > CALLER_QUIET_S:
            return None
        return last + CALLER_QUIET_S + 0.001

    async def _check_go_away(self, wake_at: list[float]) -> None:
        if self._goaway is None:
            return
        session, deadline = self._goaway
        if session is not self.link.session or not session.ready:
            self._goaway = None  # the call already moved (or the session ended)
            return
        now = time.monotonic()
        remaining = deadline - now
        margin = min(max(1.0, 0.2 * self.options.connect_timeout_s), 0.5 * max(remaining, 0.0) + 0.5)
        quiet_at = self._caller_quiet_at()
        silence = self.caller.tail.unanswered_for()
        awaiting_answer = remaining - margin > ANSWER_ROOM_S and (
            self.owed or (silence is not None and silence < ANSWER_DUE_S)
        )
        at_boundary = (
            not self.replies.responding and not awaiting_answer and quiet_at is None
            and session.resumable and not self.switching()
        )  # fmt: skip
        if at_boundary:
            resume = self.options.goaway_strategy == "resume" and session.handle is not None
        elif remaining <= margin:
            logger.info(f"{session}: no turn boundary before the goAway deadline; re-seeding now")
            resume = False
        else:
            # ``remaining <= margin`` first holds one second before the deadline (the margin is
            # at least 1 s, and at most half the time left plus 0.5 s).
            wake_at.append(max(deadline - 1.0, now + 0.01))
            if quiet_at is not None:
                wake_at.append(quiet_at)
            if awaiting_answer:
                wake_at.append(deadline - margin - ANSWER_ROOM_S)  # a reply starting wakes us sooner
                if silence is not None:
                    wake_at.append(now + ANSWER_DUE_S - silence)
            return
        self._goaway = None
        await self.request_switch("goaway", resume=resume, force_new=True, gentle=True)

    async def _check_stall(self, wake_at: list[float]) -> None:
        timeout = self.options.stall_timeout_s
        session = self.link.session
        if timeout is None or session is None or not session.ready or self.switching():
            return
        owed = self._owed_since
        if self.replies.responding:
            owed = owed or self._last_message_at
        if owed is None and self.options.stall_on_caller_speech:
            owed = self.caller.unanswered_since(END_OF_TURN_S)
            if owed is None:
                silence = self.caller.tail.unanswered_for()
                if silence is not None:
                    # A sentence is waiting to count as finished: look again when it may.
                    wake_at.append(time.monotonic() + max(0.05, END_OF_TURN_S - silence))
                else:
                    self._waiting_for_speech = True  # audio_arrived wakes us when one begins
        if owed is None:
            return
        now = time.monotonic()
        stall_at = max(owed, self._last_message_at) + timeout
        if now < stall_at:
            wake_at.append(stall_at)
            return
        self.stalls += 1
        self._owed_since = None
        logger.warning(f"{session} sent nothing for {timeout:.1f}s while a reply was owed; reconnecting")
        await self.hooks.push_error(f"Gemini Live session stalled ({timeout:.1f}s without a message); reconnecting")
        await self.abandon(session, "stalled")

    async def _check_quiet_input(self, wake_at: list[float]) -> None:
        after = self.options.audio_stream_end_after_s
        if after is None:
            return
        await self.caller.end_stream_if_quiet(after)
        next_at = self.caller.quiet_deadline(after)
        if next_at is None:
            self._waiting_for_audio = True
        else:
            wake_at.append(next_at)
