"""Moving a call from one Live session to the next: persona change, goAway, reconnect, start.

One mechanism for every move (docs/design.md, "A persona change" and "A goAway"). What a
request does is decided without I/O by :func:`~..protocol.switch_plan.plan`; this module carries
the plan out:

1. A change the model can take in-session (``contextUpdate`` where the profile allows it, and
   nothing setup-only changed) is applied in place.
2. Otherwise **make before break**: caller audio is held from the moment of the request; a new
   session is opened and set up with the new setup while the old one is still live; it is
   seeded with the conversation in the form the profile accepts (no seed when it resumes a
   handle: the server restores the session); it becomes the active session; the held audio is
   played into it in order; the old session is closed with 1000.
3. Resuming a handle while the issuing connection is open is refused by the server (1011,
   field report), so a resume closes the old session first (**break before make**); the held
   audio covers the gap.

A failed switch keeps the old session (when it is alive), pushes an ``ErrorFrame`` and is tried
again after the retry policy's backoff (the change it carries must take effect) unless a newer
request came first. Switches run one at a time; a request made while one is in flight
supersedes it, so the latest instruction is the one that ends up active. Opening the new
session (resume handles, model fallback, and retries with backoff where the plan says the call
has no live session to fall back on, ``Plan.retry``: start, reconnect, and a resume, which
closes the live session before it opens) is :mod:`.session_opening`'s.

Every wait here is on an event (the reply's end, the old connection's close) with a deadline,
not a poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator

from loguru import logger

from ..protocol.close_codes import RetryPolicy, classify
from ..protocol.history import CONTINUE_MARKER, ConversationHistory
from ..protocol.switch_plan import (
    CallState,
    HoldPolicy,
    Plan,
    PlanKind,
    ReplyPolicy,
    SessionView,
    SwitchRecord,
    SwitchRequest,
    merge,
    plan,
    supersedes,
)
from .caller_audio import CallerAudio
from .connection import LiveSession
from .link import CallHooks, SessionLink
from .live_options import LiveOptions
from .replies import ServerEvents
from .session_opening import Superseded, SwitchFailed, open_next_session
from .sessions import SessionFactory


class _Moot(Exception):
    """Nothing to do: the call already left the session this request was about."""


class Switcher:
    """Runs switches for one call, one at a time, latest request winning.

    Args:
        link: The seam to the session: the switcher moves it, and holds input during a move.
        hooks: Tasks, errors and the call clock of the hosting processor.
        sessions: Builds the sessions (and knows the fallback models).
        caller: The caller's audio (flushed, replayed and drained around a move).
        replies: The bot's replies (cut or waited for).
        history: The conversation a new session is seeded with.
        options: The call's :class:`~.live_options.LiveOptions`.
        retry: Backoff for opening where the call has no session to stay on.
        on_switch: Awaited with each finished :class:`SwitchRecord`.
    """

    def __init__(
        self,
        *,
        link: SessionLink,
        hooks: CallHooks,
        sessions: SessionFactory,
        caller: CallerAudio,
        replies: ServerEvents,
        history: ConversationHistory,
        options: LiveOptions,
        retry: RetryPolicy,
        on_switch: Callable[[SwitchRecord], Awaitable[None]],
    ):
        self.link = link
        self.hooks = hooks
        self.sessions = sessions
        self.caller = caller
        self.replies = replies
        self.history = history
        self.options = options
        self.retry = retry
        self.on_switch = on_switch
        self.records: list[SwitchRecord] = []
        self.on_idle: Callable[[], None] = lambda: None  # when no switch is left (the watchdog's)
        # Whether the session being left owes an answer (a key, typed text or a tool result went
        # to it and no reply began): the watchdog's, set by the call.
        self.reply_owed: Callable[[], bool] = lambda: False
        self._pending: SwitchRequest | None = None
        self._task: asyncio.Task | None = None
        self._closed = False
        # A switch that failed while the call stayed on its old session is tried again after a
        # backoff (the change it carries must take effect), unless a newer request came first.
        self._requests_made = 0
        self._retrying: tuple[SwitchRequest, Iterator[float]] | None = None
        self._retry_task: asyncio.Task | None = None

    @property
    def busy(self) -> bool:
        """A switch is in flight or queued."""
        return self._task is not None and not self._task.done()

    async def request(self, req: SwitchRequest) -> None:
        """Queue a switch; it supersedes one that is queued or still opening its session."""
        if self._closed:
            return
        self._requests_made += 1
        self._enqueue(req)

    def _enqueue(self, req: SwitchRequest) -> None:
        self._pending = merge(self._pending, req)
        if not self.busy:
            self._task = self.hooks.create_task(self._run(), "live-handover")

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no switch is in flight (tests, hang-up)."""
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task}, timeout=timeout)

    async def shutdown(self) -> None:
        """Stop switching (the call is ending); a session being opened is abandoned."""
        self._closed = True
        self._pending = None
        if self._retry_task is not None and not self._retry_task.done():
            await self.hooks.cancel_task(self._retry_task)
        if self._task is not None and not self._task.done() and self._task is not asyncio.current_task():
            await self.hooks.cancel_task(self._task, timeout=self.options.close_timeout_s)
        self.link.holding = False

    async def _run(self) -> None:
        try:
            await self._run_requests()
        finally:
            self.on_idle()

    async def _run_requests(self) -> None:
        counters = self.link.counters
        chain_start: tuple[int, int] | None = None
        while self._pending is not None and not self._closed:
            req, self._pending = self._pending, None
            if chain_start is None:
                # Superseded requests share one record: the frames held for them count here.
                chain_start = (counters.held, counters.dropped)
            record = SwitchRecord(
                reason=req.reason, at_s=self.hooks.call_time(req.requested_at), label=req.label
            )
            retryable = False
            try:
                await self._perform(req, record)
            except Superseded:
                logger.debug(f"{self.link.session}: switch ({req.reason}) superseded by a newer request")
                continue
            except _Moot:
                chain_start = None
                continue
            except SwitchFailed as e:
                record.error = str(e)
                retryable = e.retryable
            except Exception as e:  # keep the call going whatever went wrong
                record.error = f"{type(e).__name__}: {e}"
                logger.exception(f"{self.link.session}: switch ({req.reason}) failed")
            record.in_frames_held = counters.held - chain_start[0]
            record.in_frames_dropped = counters.dropped - chain_start[1]
            chain_start = None
            self.records.append(record)
            await self.on_switch(record)
            if not record.ok:
                await self._report_failure(req, record)
                if retryable and self.link.live and self._pending is None:
                    self._retry_later(req)
            elif self._retrying is not None and self._retrying[0] is req:
                self._retrying = None

    def _stopped(self, req: SwitchRequest) -> bool:
        """Whether opening a session for ``req`` should stop: a newer request superseded it
        (raises :class:`Superseded`) or the call is ending."""
        if supersedes(self._pending, req):
            raise Superseded()
        return self._closed

    def _retry_later(self, req: SwitchRequest) -> None:
        """Try ``req`` again after the retry policy's next delay (the call goes on, on the old
        session, meanwhile), unless a newer request arrives first or the delays run out."""
        if self._retrying is None or self._retrying[0] is not req:
            self._retrying = (req, iter(self.retry.delays()))
        delay = next(self._retrying[1], None)
        if delay is None:
            self._retrying = None
            logger.warning(f"{self.link.session}: giving up the {req.reason} switch; the call stays as it is")
            return
        made = self._requests_made

        async def later() -> None:
            await asyncio.sleep(delay)
            if not self._closed and self._requests_made == made:
                logger.info(f"{self.link.session}: trying the {req.reason} switch again")
                self._enqueue(req)

        self._retry_task = self.hooks.create_task(later(), "live-switch-retry")

    # -- the switch --------------------------------------------------------------------------

    def _state(self, req: SwitchRequest) -> CallState:
        profile_for = self.sessions.profile_for_model
        old = self.link.session
        view = None
        if old is not None:
            view = SessionView(
                index=old.index,
                ready=old.ready,
                spec=old.spec,
                profile=profile_for(old.spec.model),
                handle=old.handle,
                realtime_input_sent=old.realtime_input_sent,
            )
        return CallState(
            session=view,
            target_profile=profile_for(req.spec.model),
            cut_reply_on_switch=self.options.cut_reply_on_switch,
        )

    async def _perform(self, req: SwitchRequest, record: SwitchRecord) -> None:
        link = self.link
        old = link.session
        state = self._state(req)
        p = plan(state, req)
        profile = state.target_profile
        if p.kind is PlanKind.MOOT:
            raise _Moot()
        if p.kind is PlanKind.UNCHANGED:
            self._applied(record, req, old, method=p.method)
            return
        if p.kind is PlanKind.SEED_IN_PLACE:
            record.history_turns_carried = await self._seed(old, profile, respond=req.respond, going_on=False)
            self._applied(record, req, old, method=p.method)
            return
        if p.kind is PlanKind.CONTEXT_UPDATE:
            await self._update_in_place(old, req, record, p)
            return

        late_hold = p.hold is HoldPolicy.AFTER_REPLY
        if not late_hold:
            await self.caller.flush_batch()  # grouped audio goes to the session it was meant for
        link.holding = not late_hold
        try:
            await self._settle_reply(p.reply)
            new = await self._open_and_take_over(req, record, p, old, late_hold=late_hold, profile=profile)
        finally:
            # A queued request keeps the audio held for the switch that follows.
            if self._pending is None:
                link.holding = False
        if old is not None and old is not new:
            self.hooks.create_task(old.close(self.options.close_timeout_s), f"close-session-{old.index}")

    async def _open_and_take_over(self, req, record, p, old, *, late_hold, profile) -> LiveSession:
        """Open the next session and move the call onto it; returns it.

        A new session that closes before the call is on it (a drop while it is seeded) is
        replaced by another, within the retry policy's delays, as a failed connect would be:
        with the old session gone (a goAway, a reconnect) there is nothing else to fall back
        on, and the call would end (make explore seed 10300's timeline #14: a drop 0.5 s into
        a goAway's new session).

        Raises:
            SwitchFailed: No session could be opened, or each one closed before it took over.
            Superseded: A newer request arrived meanwhile.
        """
        link = self.link
        delays = None
        while True:
            new, method = await open_next_session(
                req, record, sessions=self.sessions, options=self.options, retry=self.retry,
                old_alive=old if p.keep_old is not None else None, handle=p.resume_handle,
                retry_in_place=p.retry, first=link.session is None, stopped=self._stopped,
            )  # fmt: skip
            try:
                if not late_hold:
                    # A reply the old session began while the new one was opening (the caller's
                    # sentence ended just before the switch) is settled as the plan says. Left
                    # alone it was counted as the sentence's answer and then silenced with its
                    # session (explorer seed 9505: a tools change 30 ms before a reply began).
                    await self._settle_reply(p.reply)
                await self._take_over(req, record, old, new, method, late_hold=late_hold, profile=profile)
                return new
            except Exception as e:
                # Only a session that went away as a connection is replaced (a drop, 1000,
                # 1011): one the server refused (1007, 1008) would be refused again, and a
                # superseded switch stops here.
                end = new.end
                lost = not isinstance(e, Superseded) and new is not link.session and not new.ready and (
                    end is None or (end.code != 1007 and classify(end.code, end.reason, end.error).retry)
                )
                # Whatever failed before the call moved onto it: the new connection must not
                # outlive the switch.
                await self._discard_unused(new)
                if not lost:
                    raise
                delays = delays or iter(self.retry.delays())
                delay = next(delays, None)
                if delay is None:
                    raise SwitchFailed(f"each new Live session closed before the call moved onto it: {e}", retryable=True) from e
                logger.warning(f"{new} closed before the call moved onto it ({e}); opening another in {delay:.2f}s")
                await asyncio.sleep(delay)
            except BaseException:
                await self._discard_unused(new)  # cancelled by a hang-up
                raise

    async def _discard_unused(self, session: LiveSession) -> None:
        """Close a session the call never moved onto, whatever interrupts the switch."""
        if session is not self.link.session:
            await asyncio.shield(session.discard(self.options.close_timeout_s))

    async def _settle_reply(self, policy: ReplyPolicy) -> None:
        """Cut the reply in progress, or wait for it to end, as the plan says."""
        if policy is ReplyPolicy.CUT:
            # The rest of the old reply is dropped; if the switch fails the call simply stays
            # on the old session, which is not muted.
            if await self.replies.cut_for_switch():
                # Cut before the caller heard more than a word of it: what it answered is owed
                # again, and goes to the new session with the rest of the unanswered speech.
                self.caller.tail.reply_withdrawn()
        elif policy is ReplyPolicy.WAIT:
            await self._wait_reply_done()

    async def _take_over(self, req, record, old, new, method, *, late_hold, profile) -> None:
        """Seed ``new``, make it the call's session, replay what it must hear."""
        link = self.link
        respond = req.respond
        held_from = req.requested_at
        if late_hold:
            await self._wait_reply_done(until_gone=old)
            await self.caller.flush_batch()
            link.holding = True
            held_from = time.monotonic()
            # The old connection closed under a reply: the new session goes on with it.
            respond = respond or (not old.ready and link.cut_by_drop)
        await self._end_old_reply()
        # Input that reached the old session as its reply ended (a key pressed, a message
        # appended) is owed an answer the old session will no longer give: the new one gives it.
        owed = self.reply_owed()
        respond = respond or owed
        carried = 0
        if method != "resume":
            carried = await self._seed(new, profile, respond=respond, going_on=not owed)
        if supersedes(self._pending, req):
            raise Superseded()
        # What the retired session got but never answered goes to the new one first: after a
        # resume, everything since the handle's checkpoint and any speech still owed; otherwise
        # the caller's unanswered utterance (its start went to the old session).
        tail = self.caller.tail
        replay = tail.for_resume() if method == "resume" else tail.unanswered_utterance()
        if replay:
            # The model answers replayed speech with the cue to go on, if one was sent (the
            # seed 9201 regression in a fresh-clone run: one reply answered both).
            self.replies.expect_going_on(None)
        if method == "resume":
            # Messages the old session got after the handle's checkpoint: the resumed one was
            # restored without them (a function result sent just before a goAway resume was
            # never answered: the explorer's GOAWAY_LOOP timeline on a loaded machine).
            resent = link.resend_unconfirmed()
            if resent:
                logger.info(f"{new}: {resent} message(s) sent after the resumed handle go again")
        await link.activate(new)
        self.caller.replay_first(replay)
        record.in_frames_replayed = len(replay)
        link.holding = False
        # Held audio and waiting messages go out in the order they arrived; input arriving
        # meanwhile waits behind them (the release is the only sender until it is done).
        await self.caller.drain(new)
        record.history_turns_carried = carried
        self._applied(record, req, new, method=method, gap_from=held_from)

    async def _end_old_reply(self) -> None:
        """End, locally, a reply of the session being left that is still in progress.

        A gentle move keeps the old reply playing, a resume closes its connection under it,
        and the wait for its end is bounded: whatever of it was pushed plays out, but what the
        new session says is a reply of its own. Left open, the new session's answer ran on as
        the old reply (no start, so the caller's words it answers stayed owed, and one record
        for both): seed 9201's timeline on a loaded machine, where the reply that went on after
        the function result stalled after its first word and a goAway resume moved the call.
        A reply cut with less than a word of it heard leaves what it answered owed.
        """
        if not self.replies.responding:
            return
        unheard = self.replies.reply_unheard
        await self.replies.cut()
        if unheard:
            self.caller.tail.reply_withdrawn()

    async def _update_in_place(self, session: LiveSession, req: SwitchRequest, record: SwitchRecord, p: Plan) -> None:
        await self._settle_reply(p.reply)
        changes = p.context_changes
        kwargs = {}
        if "system_instruction" in changes:
            kwargs["system_instruction"] = req.spec.system_instruction or ""
        if "tools" in changes:
            kwargs["tools"] = req.spec.tools or []
        await session.send_context_update(**kwargs)
        session.spec = req.spec
        session.system_instruction = req.spec.system_instruction
        self._applied(record, req, session, method=p.method)

    def _applied(
        self,
        record: SwitchRecord,
        req: SwitchRequest,
        session: LiveSession,
        *,
        method: str,
        gap_from: float | None = None,
    ) -> None:
        """Fill in a successful switch; the gap runs from ``gap_from`` (default: the request),
        the moment caller audio stopped reaching a live session."""
        now = time.monotonic()
        record.ok = True
        record.method = method
        record.applied_s = self.hooks.call_time(now)
        record.switch_gap_ms = (now - (gap_from or req.requested_at)) * 1000.0
        record.system_instruction = req.spec.system_instruction
        record.session_index = session.index

    async def _wait_reply_done(self, until_gone: LiveSession | None = None) -> None:
        """Wait for the reply in progress to end (or ``until_gone`` to close), bounded by
        ``finish_reply_timeout_s``."""
        if not self.replies.responding or (until_gone is not None and not until_gone.ready):
            return
        timeout = self.options.finish_reply_timeout_s
        waits = {asyncio.ensure_future(self.replies.wait_reply_over(timeout))}
        if until_gone is not None:
            waits.add(asyncio.ensure_future(until_gone.wait_closed(timeout)))
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def _seed(self, session: LiveSession, profile, *, respond: bool = False, going_on: bool = True) -> int:
        """Send the conversation so far; ``respond`` has the model speak next (answer the last
        user turn, or go on where a dropped reply stopped). ``going_on``: nothing sent to the
        old session is owed an answer, so a reply to the cue to go on answers nothing new (a
        function result the model had not answered is answered with it: explorer seed 9113's
        timeline)."""
        turns = self.history.seed(profile, end_with_user=respond)
        if not turns:
            return 0
        await session.send_client_content(turns, turn_complete=respond)
        if respond and going_on and turns[-1].parts[0].text == CONTINUE_MARKER:
            self.replies.expect_going_on(session.index)
        return len(turns)

    async def _report_failure(self, req: SwitchRequest, record: SwitchRecord) -> None:
        link = self.link
        if link.live:
            # The old session is still live: nothing the caller said is lost, nor what waited.
            await self.caller.drain(link.session)
            await self.hooks.push_error(
                f"Gemini Live {req.reason} switch failed; staying on the current session: {record.error}"
            )
            return
        if self._pending is not None:
            # The session dropped under this switch and its reconnect is queued: that one
            # decides whether the call can go on.
            await self.hooks.push_error(f"Gemini Live {req.reason} switch failed: {record.error}")
            return
        with contextlib.suppress(Exception):
            await self.hooks.push_error(
                f"Gemini Live: no session for the call ({req.reason}): {record.error}",
                force_treat_as_permanent=True,
            )
