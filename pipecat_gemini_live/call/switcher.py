"""Moving a call from one Live session to the next: persona change, goAway, reconnect, start.

One mechanism for every move (docs/design.md, "A persona change" and "A goAway"):

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

A failed switch keeps the old session (when it is alive) and pushes an ``ErrorFrame``. Switches
run one at a time; a request made while one is in flight supersedes it, so the latest
instruction is the one that ends up active. Opening retries with backoff (:mod:`.reconnect`)
where the call has no live session to fall back on (start, reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from loguru import logger

from ..protocol.setup import SessionSpec
from ..protocol.profiles import HistorySeeding
from ..protocol.close_codes import classify
from .connection import LiveSession, SessionOpenError
from ..protocol.switches import SwitchFailed, SwitchRecord, SwitchRequest, model_unavailable

if TYPE_CHECKING:
    from ..service import GeminiLiveLLMService


class _Superseded(Exception):
    """A newer request arrived while this switch was opening its session."""


class _Moot(Exception):
    """Nothing to do: the call already left the session this request was about."""


class Handover:
    """Runs switches for one service, one at a time, latest request winning.

    Args:
        service: The service whose call is moved.
    """

    def __init__(self, service: "GeminiLiveLLMService"):
        self.svc = service
        self.records: list[SwitchRecord] = []
        self.holding = False
        self._pending: SwitchRequest | None = None
        self._task: asyncio.Task | None = None
        self._closed = False

    @property
    def busy(self) -> bool:
        """A switch is in flight or queued."""
        return self._task is not None and not self._task.done()

    async def request(self, req: SwitchRequest) -> None:
        """Queue a switch; it supersedes one that is queued or still opening its session."""
        if self._closed:
            return
        if self._pending is not None:
            req.old_dead = req.old_dead or self._pending.old_dead
            req.resume = req.resume or self._pending.resume
            req.force_new = req.force_new or self._pending.force_new
            req.seed = req.seed or self._pending.seed
            req.respond = req.respond or self._pending.respond
            req.gentle = req.gentle and self._pending.gentle
            req.requested_at = min(req.requested_at, self._pending.requested_at)
        self._pending = req
        if not self.busy:
            self._task = self.svc.create_task(self._run(), "live-handover")

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no switch is in flight (tests, hang-up)."""
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task}, timeout=timeout)

    async def shutdown(self) -> None:
        """Stop switching (the call is ending); a session being opened is abandoned."""
        self._closed = True
        self._pending = None
        if self._task is not None and not self._task.done() and self._task is not asyncio.current_task():
            await self.svc.cancel_task(self._task, timeout=self.svc.options.close_timeout_s)
        self.holding = False

    async def _run(self) -> None:
        counters = self.svc.audio_counters
        chain_start: tuple[int, int] | None = None
        while self._pending is not None and not self._closed:
            req, self._pending = self._pending, None
            if chain_start is None:
                # Superseded requests share one record: the frames held for them count here.
                chain_start = (counters.held, counters.dropped)
            record = SwitchRecord(
                reason=req.reason, at_s=self.svc.call_time(req.requested_at), label=req.label
            )
            try:
                await self._perform(req, record)
            except _Superseded:
                logger.debug(f"{self.svc}: switch ({req.reason}) superseded by a newer request")
                continue
            except _Moot:
                chain_start = None
                continue
            except SwitchFailed as e:
                record.error = str(e)
            except Exception as e:  # keep the call going whatever went wrong
                record.error = f"{type(e).__name__}: {e}"
                logger.exception(f"{self.svc}: switch ({req.reason}) failed")
            record.in_frames_held = counters.held - chain_start[0]
            record.in_frames_dropped = counters.dropped - chain_start[1]
            chain_start = None
            self.records.append(record)
            await self.svc.report_switch(record)
            if not record.ok:
                await self._report_failure(req, record)

    # -- the switch --------------------------------------------------------------------------

    async def _perform(self, req: SwitchRequest, record: SwitchRecord) -> None:
        svc = self.svc
        old = svc.session
        if req.dead_session is not None and old is not None and old.ready and old.index != req.dead_session:
            raise _Moot()
        alive = old is not None and old.ready and not req.old_dead
        profile = svc.profile_for_model(req.spec.model)
        same_profile = old is not None and svc.profile_for_model(old.spec.model) == profile

        in_place = alive and same_profile and not req.resume and not req.force_new
        if in_place and old.spec == req.spec and not req.seed:
            self._applied(record, req, old, method="unchanged")
            return
        if in_place and req.seed and old.spec == req.spec and self._can_seed_in_place(old, profile):
            record.history_turns_carried = await self._seed(old, profile, respond=req.respond)
            self._applied(record, req, old, method="seed")
            return
        if (
            in_place
            and not req.seed
            and profile.context_update
            and not req.spec.setup_only_changes(old.spec)
        ):
            await self._update_in_place(old, req, record)
            return

        # A gentle move (a goAway re-seed, a generation setting) keeps the old session talking and
        # listening until the new one is ready and the old reply is over: the caller hears no
        # seam. Every other move holds the caller's audio from the start (it belongs to the new
        # setup).
        late_hold = alive and req.gentle and not req.resume
        if not late_hold:
            await svc.caller.flush_batch()  # grouped audio goes to the session it was meant for
        self.holding = not late_hold
        try:
            if alive and not req.gentle and req.reason != "start":
                if svc.options.cut_reply_on_switch:
                    # The rest of the old reply is dropped; if the switch fails the call simply
                    # stays on the old session, which is not muted.
                    if svc.responding:
                        await svc.cut_reply()
                        svc.suppress_current_reply()
                else:
                    await self._wait_reply_done()
            handle = old.handle if (req.resume and old is not None and old.handle) else None
            new, method = await self._open(req, record, old if alive else None, handle)
            try:
                await self._take_over(req, record, old, new, method, late_hold=late_hold, profile=profile)
            except BaseException:
                # Superseded, failed or cancelled by a hang-up before the call moved onto it:
                # the new connection must not outlive the switch.
                if new is not svc.session:
                    await asyncio.shield(new.discard(svc.options.close_timeout_s))
                raise
        finally:
            # A queued request keeps the audio held for the switch that follows.
            if self._pending is None:
                self.holding = False
        if old is not None and old is not new:
            svc.create_task(old.close(svc.options.close_timeout_s), f"close-session-{old.index}")

    async def _take_over(self, req, record, old, new, method, *, late_hold, profile) -> None:
        """Seed ``new``, make it the call's session, replay what it must hear."""
        svc = self.svc
        respond = req.respond
        held_from = req.requested_at
        if late_hold:
            await self._wait_reply_done(until_gone=old)
            await svc.caller.flush_batch()
            self.holding = True
            held_from = time.monotonic()
            # The old connection closed under a reply: the new session goes on with it.
            respond = respond or (not old.ready and svc.cut_by_drop)
        carried = 0
        if method != "resume":
            carried = await self._seed(new, profile, respond=respond)
        if self._pending is not None and self._pending.spec != req.spec and req.reason != "reconnect":
            raise _Superseded()
        # What the retired session got but never answered goes to the new one first: after a
        # resume, everything since the handle's checkpoint; otherwise the caller's
        # unanswered utterance (its start went to the old session).
        tail = svc.caller.tail
        replay = tail.since_checkpoint() if method == "resume" else tail.unanswered_utterance()
        await svc.activate(new)
        svc.caller.replay_first(replay)
        record.in_frames_replayed = len(replay)
        await svc.drain_hold(new)
        self.holding = False
        await svc.flush_notes()
        record.history_turns_carried = carried
        self._applied(record, req, new, method=method, gap_from=held_from)

    async def _update_in_place(self, session: LiveSession, req: SwitchRequest, record: SwitchRecord) -> None:
        svc = self.svc
        if svc.responding:
            if svc.options.cut_reply_on_switch:
                await svc.cut_reply()
                svc.suppress_current_reply()
            else:
                await self._wait_reply_done()
        changes = req.spec.context_changes(session.spec)
        kwargs = {}
        if "system_instruction" in changes:
            kwargs["system_instruction"] = req.spec.system_instruction or ""
        if "tools" in changes:
            kwargs["tools"] = req.spec.tools or []
        await session.send_context_update(**kwargs)
        session.spec = req.spec
        session.system_instruction = req.spec.system_instruction
        self._applied(record, req, session, method="context_update")

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
        record.applied_s = self.svc.call_time(now)
        record.switch_gap_ms = (now - (gap_from or req.requested_at)) * 1000.0
        record.system_instruction = req.spec.system_instruction
        record.session_index = session.index

    async def _wait_reply_done(self, until_gone: LiveSession | None = None) -> None:
        """Wait for the reply in progress to end (or ``until_gone`` to close), bounded."""
        deadline = time.monotonic() + self.svc.options.finish_reply_timeout_s
        while self.svc.responding and time.monotonic() < deadline:
            if until_gone is not None and not until_gone.ready:
                return
            await asyncio.sleep(0.02)

    async def _open(
        self,
        req: SwitchRequest,
        record: SwitchRecord,
        old_alive: LiveSession | None,
        handle: str | None,
    ) -> tuple[LiveSession, str]:
        """Open the next session, retrying where the call has nothing to fall back on."""
        svc = self.svc
        retrying = old_alive is None
        delays = iter(svc.retry.delays()) if retrying else iter(())
        handle_retried = False
        while True:
            if self._closed:
                raise asyncio.CancelledError()
            if self._pending is not None and self._pending.spec != req.spec and req.reason != "reconnect":
                raise _Superseded()
            record.attempts += 1
            if handle and old_alive is not None:
                # Resuming while the issuing connection is open is refused: break first.
                await old_alive.close(svc.options.close_timeout_s)
                old_alive = None
            session = svc.new_session(req.spec, reason=req.reason, resumption_handle=handle)
            try:
                await session.open(svc.options.connect_timeout_s)
                return session, ("resume" if handle else "handover")
            except SessionOpenError as e:
                logger.warning(f"{svc}: opening session ({req.reason}) failed: {e}")
                if handle and e.code == 1011 and not handle_retried:
                    # Refused while the server still holds the old connection (a stalled session
                    # we just dropped): give it a moment, then try the handle once more.
                    handle_retried = True
                    await asyncio.sleep(min(0.5, svc.retry.max_delay_s))
                    continue
                if handle and e.code is not None and e.code != 1006:
                    # The server refused the handle (expired, unknown, still in use): the
                    # conversation goes over as a seed instead.
                    logger.info(f"{svc}: resumption refused ({e.code}); re-seeding a fresh session")
                    handle = None
                    continue
                verdict = classify(e.code, e.reason)
                fallback = svc.next_fallback_model(req.spec.model) if model_unavailable(e) else None
                if fallback is not None:
                    # The model is unknown or not available to this key: the next one in the
                    # list is tried at once, with its own profile.
                    logger.warning(f"{svc}: {req.spec.model} refused ({e}); falling back to {fallback}")
                    record.fallbacks.append(f"{req.spec.model} -> {fallback}")
                    req.spec = svc.use_model(fallback)
                    handle = None
                    continue
                if not verdict.retry:
                    raise SwitchFailed(verdict.explanation, retryable=False) from e
                delay = next(delays, None)
                if delay is None:
                    raise SwitchFailed(
                        f"could not open a Live session after {record.attempts} attempt(s): {e}",
                        retryable=True,
                    ) from e
                await asyncio.sleep(delay)

    def _can_seed_in_place(self, session: LiveSession, profile) -> bool:
        if profile.mid_session_client_content:
            return True
        return profile.history_seeding is HistorySeeding.INITIAL_HISTORY and not session.realtime_input_sent

    async def _seed(self, session: LiveSession, profile, *, respond: bool = False) -> int:
        """Send the conversation so far; ``respond`` has the model speak next (answer the last
        user turn, or go on where a dropped reply stopped)."""
        turns = self.svc.history.seed(profile, end_with_user=respond)
        if not turns:
            return 0
        await session.send_client_content(turns, turn_complete=respond)
        return len(turns)

    async def _report_failure(self, req: SwitchRequest, record: SwitchRecord) -> None:
        svc = self.svc
        alive = svc.session is not None and svc.session.ready
        if alive:
            # The old session is still live: nothing the caller said is lost.
            await svc.drain_hold(svc.session)
            await svc.push_error(f"Gemini Live {req.reason} switch failed; staying on the current session: {record.error}")
            return
        with contextlib.suppress(Exception):
            await svc.push_error(
                f"Gemini Live: no session for the call ({req.reason}): {record.error}",
                force_treat_as_permanent=True,
            )
