"""Admitting Twilio calls: webhook signatures, per-call stream tokens, the stream's start message.

A Twilio phone bot has two doors. The TwiML webhook (HTTP POST from Twilio when a call comes
in) answers ``<Connect><Stream>``; the media stream (a WebSocket Twilio opens next) carries the
call's audio. Anyone who finds the URLs can knock on both, so:

- the webhook checks ``X-Twilio-Signature`` with the ``twilio`` library's ``RequestValidator``
  (:func:`signature_ok`) when an auth token is configured;
- the webhook puts a fresh single-use token in the stream's ``<Parameter name="token">``
  (Twilio forbids query strings on stream URLs and passes custom parameters in the ``start``
  message), and the media stream admits only a ``start`` whose token the webhook issued, for
  the same call, recently (:class:`CallTokens`).

Tokens are credentials: nothing here logs one.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field

from twilio.request_validator import RequestValidator, get_signature_algorithm

TOKEN_PARAMETER = "token"


class StreamRefused(Exception):
    """A media stream that is not let in; ``reason`` says why (never the token itself)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Issued:
    call_sid: str
    expires_at: float


@dataclass
class CallTokens:
    """Single-use tokens the webhook issues and the media stream redeems.

    Attributes:
        ttl_s: How long a token stays valid, seconds (Twilio opens the stream within a second
            or two of the webhook's answer).
        max_pending: Most tokens outstanding at once; the oldest are forgotten beyond that, so
            a flood of webhook requests cannot grow memory without bound.
    """

    ttl_s: float = 30.0
    max_pending: int = 10_000
    _issued: dict[str, _Issued] = field(default_factory=dict)

    def issue(self, call_sid: str) -> str:
        """A new token for ``call_sid`` (URL-safe, 256 bits)."""
        self._expire()
        while len(self._issued) >= self.max_pending:
            self._issued.pop(next(iter(self._issued)))
        token = secrets.token_urlsafe(32)
        self._issued[token] = _Issued(call_sid, time.monotonic() + self.ttl_s)
        return token

    def redeem(self, token: str | None, call_sid: str | None) -> bool:
        """Whether ``token`` was issued for ``call_sid`` and is still valid; it is used up either way.

        Matching goes through ``hmac.compare_digest`` on the call SID; the token itself is a
        dictionary key (its 256 random bits are the secret, not its spelling).
        """
        self._expire()
        if not token:
            return False
        issued = self._issued.pop(token, None)
        if issued is None:
            return False
        return hmac.compare_digest(issued.call_sid.encode(), (call_sid or "").encode())

    def __len__(self) -> int:
        return len(self._issued)

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, i in self._issued.items() if i.expires_at < now]:
            del self._issued[token]


def signature_ok(
    auth_token: str,
    url: str,
    params: dict[str, list[str]],
    signature: str | None,
    signature_settings: str | None = None,
) -> bool:
    """Whether a webhook request carries Twilio's signature for ``url`` and ``params``.

    Args:
        auth_token: The account's auth token (the HMAC key).
        url: The full URL Twilio requested (as Twilio saw it: the public one).
        params: The POSTed form fields (name -> values).
        signature: The ``X-Twilio-Signature`` header (None or empty: unsigned).
        signature_settings: The ``X-Twilio-Webhooks-Signature-Settings`` header, if any
            (selects HMAC-SHA256 instead of the default HMAC-SHA1).
    """
    if not signature:
        return False
    algorithm = get_signature_algorithm(signature_settings)
    return RequestValidator(auth_token).validate(url, _Form(params), signature, algorithm=algorithm)


class _Form(dict):
    """Form fields with several values each, as ``RequestValidator`` reads them (``getlist``)."""

    def getlist(self, name: str) -> list[str]:
        return list(self[name])


@dataclass
class StreamStart:
    """What Twilio's ``start`` message says about a media stream.

    Attributes:
        stream_sid: ``MZ...``: the serializer addresses its messages to it.
        call_sid: ``CA...``: the call (for the token check and the hang-up).
        account_sid: ``AC...``: the account (for the hang-up).
        parameters: The TwiML ``<Parameter>`` values (``customParameters``).
        media_format: ``mediaFormat`` (``audio/x-mulaw``, 8000 Hz, 1 channel).
    """

    stream_sid: str
    call_sid: str | None
    account_sid: str | None
    parameters: dict[str, str]
    media_format: dict


async def read_stream_start(
    receive_text, *, timeout_s: float = 10.0, max_messages: int = 4
) -> StreamStart:
    """Read a Twilio media stream up to its ``start`` message.

    Twilio sends ``connected`` and then ``start`` before any ``media``.

    Args:
        receive_text: ``async () -> str`` (a Starlette ``WebSocket.receive_text``).
        timeout_s: How long to wait for ``start``, seconds.
        max_messages: Messages to read at most before giving up.

    Raises:
        StreamRefused: No ``start`` in time, a malformed message, or a ``start`` without a
            stream SID.
    """

    async def _read() -> StreamStart:
        for _ in range(max_messages):
            raw = await receive_text()
            try:
                message = json.loads(raw)
            except ValueError:
                raise StreamRefused("a message before start was not JSON") from None
            if not isinstance(message, dict):
                raise StreamRefused("a message before start was not a JSON object")
            event = message.get("event")
            if event == "connected":
                continue
            if event != "start":
                raise StreamRefused(f"expected start, got {event!r}")
            start = message.get("start")
            if not isinstance(start, dict) or not (
                start.get("streamSid") or message.get("streamSid")
            ):
                raise StreamRefused("start without a streamSid")
            params = start.get("customParameters") or {}
            return StreamStart(
                stream_sid=start.get("streamSid") or message["streamSid"],
                call_sid=start.get("callSid"),
                account_sid=start.get("accountSid"),
                parameters={str(k): str(v) for k, v in params.items()}
                if isinstance(params, dict)
                else {},
                media_format=start.get("mediaFormat") or {},
            )
        raise StreamRefused(f"no start within the first {max_messages} messages")

    try:
        return await asyncio.wait_for(_read(), timeout_s)
    except TimeoutError:
        raise StreamRefused(f"no start within {timeout_s:.0f}s") from None
