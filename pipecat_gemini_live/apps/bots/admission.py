"""Letting calls in over HTTP: capped bodies, shared-token auth, an atomic call limit.

The bots' HTTP entry points (the browser bot's ``/api/offer``, the Twilio bot's ``/twiml``) take
requests from anyone who finds them, so each reads at most a small, fixed number of bytes
before deciding anything (:func:`read_capped_body`), checks a configured shared token in
constant time (:func:`bearer_ok`), and takes a call slot in one synchronous step
(:class:`CallSlots`) so concurrent requests cannot all pass a check made before an ``await``.
"""

from __future__ import annotations

import hmac

from starlette.requests import ClientDisconnect, Request


class RequestRefused(Exception):
    """A request that is not let in: ``status`` is the HTTP status, ``reason`` says why.

    Args:
        status: HTTP status code (400, 401, 404, 413, 503...).
        reason: One line for the client and the log (never a secret).
    """

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_capped_body(request: Request, limit: int) -> bytes:
    """The request body, refusing it before reading past ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused without reading anything; a body
    sent without one (chunked) is read in chunks and refused as soon as it passes the limit, so
    memory stays bounded by ``limit`` plus one chunk whatever the client sends.

    Args:
        request: The Starlette request (its body not read yet).
        limit: The most bytes accepted.

    Raises:
        RequestRefused: 413 over the limit; 400 for a malformed ``Content-Length`` or a client
            that went away mid-body.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise RequestRefused(400, "malformed Content-Length")
        if int(declared) > limit:
            raise RequestRefused(413, f"request body over {limit} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise RequestRefused(413, f"request body over {limit} bytes")
    except ClientDisconnect:
        raise RequestRefused(400, "the client went away before the body ended") from None
    return bytes(body)


def bearer_ok(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header is ``Bearer <token>`` (compared in constant time).

    Args:
        authorization: The header's value (None: absent).
        token: The configured shared token (non-empty).
    """
    if not authorization or not token:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


class CallSlot:
    """One taken slot of a :class:`CallSlots`; :meth:`release` gives it back (once)."""

    def __init__(self, owner: CallSlots):
        self._owner = owner
        self.released = False

    def release(self) -> None:
        """Give the slot back; later calls do nothing."""
        if not self.released:
            self.released = True
            self._owner._taken -= 1


class CallSlots:
    """A limit on concurrent calls whose check and increment are one step.

    :meth:`take` runs without awaiting, so on one event loop no two requests can both see the
    last free slot. A slot is held from the request's admission (before any SDP or session
    work) to the end of its call, including calls that never got going.

    Args:
        limit: Calls at once (at least 1).

    Raises:
        ValueError: ``limit`` below 1.
    """

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError(f"the call limit must be at least 1, got {limit}")
        self.limit = limit
        self._taken = 0

    @property
    def taken(self) -> int:
        """Slots held now (calls being set up or running)."""
        return self._taken

    def take(self) -> CallSlot:
        """Take a slot.

        Raises:
            RequestRefused: 503 when all ``limit`` slots are held.
        """
        if self._taken >= self.limit:
            raise RequestRefused(503, f"this server is at its limit of {self.limit} calls")
        self._taken += 1
        return CallSlot(self)
