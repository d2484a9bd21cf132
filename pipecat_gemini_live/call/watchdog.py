"""Keeping the call's session healthy: goAway hand-overs, the stall watchdog, quiet input.

**goAway.** The server announces the end of a connection (about 10 minutes in, ``timeLeft``
50-60 s ahead). The call moves at the next turn boundary: the bot is not replying, the caller
is not mid-sentence, and the session is resumable (``sessionResumptionUpdate.resumable``). It
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
:meth:`~.caller_input.CallerInput.end_stream_if_quiet`).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from ..service import GeminiLiveLLMService
    from .connection import LiveSession

TICK_S = 0.05


class SessionGuard:
    """goAway planning and stall detection for one service."""

    def __init__(self, service: "GeminiLiveLLMService"):
        self.svc = service
        self._task: asyncio.Task | None = None
        self._last_message_at = time.monotonic()
        self._owed_since: float | None = None
        self._goaway: tuple["LiveSession", float] | None = None
        self.stalls = 0

    def start(self) -> None:
        """Begin watching (pipeline start)."""
        if self._task is None:
            self._task = self.svc.create_task(self._run(), "live-session-guard")

    async def stop(self) -> None:
        """Stop watching (hang-up)."""
        if self._task is not None:
            await self.svc.cancel_task(self._task)
            self._task = None

    # -- inputs ------------------------------------------------------------------------------

    def saw_message(self) -> None:
        """The active session sent something: it is alive."""
        self._last_message_at = time.monotonic()

    def reply_owed(self) -> None:
        """The model owes an answer from now (a tool result or a typed turn went out)."""
        self._owed_since = time.monotonic()

    @property
    def owed(self) -> bool:
        """Whether the model owes an answer (a tool result or a typed turn went out)."""
        return self._owed_since is not None

    def reply_settled(self) -> None:
        """A reply started or a turn completed: nothing is owed."""
        self._owed_since = None

    def session_changed(self) -> None:
        """A new session took over: its clock starts now."""
        self._last_message_at = time.monotonic()
        self._owed_since = None

    def go_away(self, session: "LiveSession", time_left_s: float) -> None:
        """``goAway`` arrived on ``session``: plan the move."""
        self._goaway = (session, time.monotonic() + max(0.0, time_left_s))

    # -- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self._check_go_away()
                await self._check_stall()
                after = self.svc.options.audio_stream_end_after_s
                if after is not None:
                    await self.svc.caller.end_stream_if_quiet(after)
            except Exception as e:  # the guard must outlive whatever it saw
                logger.exception(f"{self.svc}: session guard error: {e}")

    def _at_turn_boundary(self, session: "LiveSession") -> bool:
        svc = self.svc
        caller = svc.caller
        caller_quiet = caller.clock.last_voice_at is None or time.monotonic() - caller.clock.last_voice_at > 0.3
        return not svc.responding and caller_quiet and session.resumable and not svc.handover.busy

    async def _check_go_away(self) -> None:
        if self._goaway is None:
            return
        session, deadline = self._goaway
        svc = self.svc
        if session is not svc.session or not session.ready:
            self._goaway = None  # the call already moved (or the session ended)
            return
        remaining = deadline - time.monotonic()
        margin = min(max(1.0, 0.2 * svc.options.connect_timeout_s), 0.5 * max(remaining, 0.0) + 0.5)
        if self._at_turn_boundary(session):
            resume = svc.options.goaway_strategy == "resume" and session.handle is not None
        elif remaining <= margin:
            logger.info(f"{svc}: no turn boundary before the goAway deadline; re-seeding now")
            resume = False
        else:
            return
        self._goaway = None
        await svc.request_switch("goaway", resume=resume, force_new=True, gentle=True)

    async def _check_stall(self) -> None:
        svc = self.svc
        timeout = svc.options.stall_timeout_s
        session = svc.session
        if timeout is None or session is None or not session.ready or svc.handover.busy:
            return
        owed = self._owed_since
        if svc.responding:
            owed = owed or self._last_message_at
        if owed is None and svc.options.stall_on_caller_speech:
            owed = svc.caller.unanswered_since()
        if owed is None:
            return
        now = time.monotonic()
        if now - max(owed, self._last_message_at) < timeout:
            return
        self.stalls += 1
        self._owed_since = None
        logger.warning(f"{svc}: {session} sent nothing for {timeout:.1f}s while a reply was owed; reconnecting")
        await svc.push_error(f"Gemini Live session stalled ({timeout:.1f}s without a message); reconnecting")
        await svc.abandon_session(session, reason="stalled")
