"""Admitting Twilio calls: webhook signatures, per-call stream tokens, the stream's start message.

A Twilio phone bot has two doors. The TwiML webhook (HTTP POST from Twilio when a call comes
in) answers ``<Connect><Stream>``; the media stream (a WebSocket Twilio opens next) carries the
call's audio. Anyone who finds the URLs can knock on both, so:

- the webhook checks ``X-Twilio-Signature`` with the ``twilio`` library's ``RequestValidator``
  (:func:`signature_ok`) when an auth token is configured;
- the webhook puts a fresh signed token in the stream's ``<Parameter name="token">`` (Twilio
  forbids query strings on stream URLs and passes custom parameters in the ``start`` message),
  and the media stream admits only a ``start`` whose token the webhook issued, for the same
  call, recently (:class:`CallTokens`; signed rather than stored, so it works across workers).

Tokens are credentials: nothing here logs one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from twilio.request_validator import RequestValidator, get_signature_algorithm

TOKEN_PARAMETER = "token"


class StreamRefused(Exception):
    """A media stream that is not let in; ``reason`` says why (never the token itself)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_NONCE = 12
_MAC = 16
_TOKEN_BYTES = 8 + _NONCE + _MAC


class CallTokens:
    """Signed, short-lived, single-use tokens the webhook issues and the media stream redeems.

    A token is ``expiry (8 bytes) | nonce (12) | HMAC-SHA256(key, expiry | nonce | CallSid)[:16]``,
    URL-safe base64: any process holding the key can check it, so the webhook and the media
    stream of one call may land on different uvicorn workers. It is bound to its call, expires
    after ``ttl_s`` (wall clock, shared by the workers), and is good once per process (a replay
    on another worker within ``ttl_s`` would only open a second stream for the same call).

    Args:
        key: The HMAC key shared by every worker; a random one (this process only) when None.
        ttl_s: How long a token stays valid, seconds (Twilio opens the stream within a second
            or two of the webhook's answer).
    """

    def __init__(self, key: bytes | None = None, ttl_s: float = 30.0):
        self._key = key or secrets.token_bytes(32)
        self.ttl_s = ttl_s
        self._used: dict[bytes, float] = {}

    def issue(self, call_sid: str) -> str:
        """A new token for ``call_sid``."""
        body = int(time.time() + self.ttl_s).to_bytes(8, "big") + secrets.token_bytes(_NONCE)
        return base64.urlsafe_b64encode(body + self._mac(body, call_sid)).decode().rstrip("=")

    def redeem(self, token: str | None, call_sid: str | None) -> bool:
        """Whether ``token`` was issued for ``call_sid``, has not expired and was not used here."""
        if not token or not call_sid:
            return False
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, binascii.Error):
            return False
        if len(raw) != _TOKEN_BYTES:
            return False
        body, mac = raw[:-_MAC], raw[-_MAC:]
        if not hmac.compare_digest(mac, self._mac(body, call_sid)):
            return False
        now = time.time()
        expires = int.from_bytes(body[:8], "big")
        self._used = {n: t for n, t in self._used.items() if t >= now}
        if expires < now or body[8:] in self._used:
            return False
        self._used[body[8:]] = expires
        return True

    def _mac(self, body: bytes, call_sid: str) -> bytes:
        return hmac.new(self._key, body + call_sid.encode(), hashlib.sha256).digest()[:_MAC]


def token_key(secret: str | None, auth_token: str | None) -> bytes | None:
    """The stream-token key for a deployment: ``secret`` (``STREAM_TOKEN_SECRET``) if set, else
    one derived from the Twilio auth token (so every worker of an account agrees), else None
    (a random key per process: one worker only)."""
    if secret:
        return hashlib.sha256(b"stream-token-secret:" + secret.encode()).digest()
    if auth_token:
        return hmac.new(
            auth_token.encode(), b"pipecat-gemini-live stream tokens", hashlib.sha256
        ).digest()
    return None


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
