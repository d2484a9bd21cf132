"""Opening the session a switch moves to: resume handles, model fallback, retries.

What a failed connect means decides what happens next (:mod:`..protocol.close_codes`):

- a resume refused with 1011 right after we dropped a stalled connection (the server still holds
  it): one more try with the same handle after a moment;
- any other refusal of a handle (expired, unknown, in use): the conversation goes over as a seed
  to a fresh session instead;
- a model unknown or not available to the key: the next fallback model, at once, with its own
  profile;
- a setup refused with 1007: tried once more (the call recovers from one refusal and ends on the
  second, as mid-call);
- a transient failure while the old session is still live: :class:`SwitchFailed` (retryable), so
  the call stays on the old session and the switcher tries again later without holding the
  caller's audio through the backoff;
- a transient failure with nothing to fall back on (start, reconnect, or the old session closed
  to resume it or gone during the attempt): retried here with the retry policy's backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from loguru import logger

from ..protocol.close_codes import RetryPolicy, classify, model_unavailable
from ..protocol.switch_plan import SwitchRecord, SwitchRequest
from .connection import LiveSession, SessionOpenError
from .live_options import LiveOptions
from .sessions import SessionFactory


class SwitchFailed(Exception):
    """A switch could not open its session.

    Attributes:
        retryable: Whether the cause was transient (the retries ran out, or the call can stay on
            its old session and try again later) or a refusal.
    """

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class Superseded(Exception):
    """A newer request arrived while this switch was opening its session."""


async def open_next_session(
    req: SwitchRequest,
    record: SwitchRecord,
    *,
    sessions: SessionFactory,
    options: LiveOptions,
    retry: RetryPolicy,
    old_alive: LiveSession | None,
    handle: str | None,
    retry_in_place: bool,
    first: bool,
    stopped: Callable[[SwitchRequest], bool],
) -> tuple[LiveSession, str]:
    """Open the session ``req`` moves to; returns it and how (``"resume"`` or ``"handover"``).

    Args:
        req: The switch; its ``spec`` changes when a fallback model is taken.
        record: Counts the attempts and notes the fallbacks.
        old_alive: The session the call can stay on while this one opens (closed first when a
            handle is resumed: the server refuses a resume while the issuing connection is open).
        handle: The resumption handle to resume, if any.
        retry_in_place: The plan's ``retry``: the call has no live session to stay on (none, or
            a resume closes it first), so a transient failure is retried here with backoff. A
            failure is also retried here when the old session dies during the attempt.
        first: Whether this is the call's first session.
        stopped: Asked before each attempt: True when the call is ending (the open is
            cancelled); raises :class:`Superseded` when a newer request took over.

    Raises:
        SwitchFailed: No session could be opened (see the module docstring).
        Superseded: From ``stopped``.
        asyncio.CancelledError: The call is ending.
    """
    delays: Iterator[float] | None = None
    handle_retried = False
    setup_refused = False
    while True:
        if stopped(req):
            raise asyncio.CancelledError()
        record.attempts += 1
        if handle and old_alive is not None:
            # Resuming while the issuing connection is open is refused: break first.
            await old_alive.close(options.close_timeout_s)
            old_alive = None
        session = sessions.new_session(req.spec, reason=req.reason, resumption_handle=handle, first=first)
        try:
            await session.open(options.connect_timeout_s)
            return session, ("resume" if handle else "handover")
        except SessionOpenError as e:
            logger.warning(f"{session}: opening session ({req.reason}) failed: {e}")
            if handle and e.code == 1011 and not handle_retried:
                handle_retried = True
                await asyncio.sleep(min(0.5, retry.max_delay_s))
                continue
            if handle and e.code is not None and e.code != 1006:
                logger.info(f"{session}: resumption refused ({e.code}); re-seeding a fresh session")
                handle = None
                continue
            verdict = classify(e.code, e.reason)
            fallback = sessions.next_fallback_model(req.spec.model) if model_unavailable(e.code, e.reason) else None
            if fallback is not None:
                logger.warning(f"{session}: {req.spec.model} refused ({e}); falling back to {fallback}")
                record.fallbacks.append(f"{req.spec.model} -> {fallback}")
                req.spec = sessions.fall_back_to(fallback)
                handle = None
                continue
            if e.code == 1007 and not setup_refused:
                # The call's policy for a refusal: recover once, end on the second. A setup the
                # server refused is tried once more before the call gives up on it.
                setup_refused = True
                logger.warning(f"{session}: setup refused (1007 {e.reason!r}); trying once more")
                continue
            if not verdict.retry:
                raise SwitchFailed(verdict.explanation, retryable=False) from e
            if not retry_in_place and old_alive is not None and old_alive.ready:
                raise SwitchFailed(f"could not open a Live session: {e}", retryable=True) from e
            if delays is None:
                delays = iter(retry.delays())
            delay = next(delays, None)
            if delay is None:
                raise SwitchFailed(
                    f"could not open a Live session after {record.attempts} attempt(s): {e}", retryable=True
                ) from e
            await asyncio.sleep(delay)
