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
import secrets
import time
from dataclasses import dataclass

from twilio.request_validator import RequestValidator, get_signature_algorithm

from .twilio_messages import MediaFormat, OpeningRefused, parse_opening

TOKEN_PARAMETER = "token"


POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013


class StreamRefused(Exception):
    """A media stream that is not let in; ``reason`` says why (never the token itself).

    Args:
        reason: One line for the close frame and the log.
        code: The WebSocket close code: 1008 (policy), 1009 (message too big), 1013 (busy).
        disconnected: The client already left, so there is nobody to send a close frame to.
    """

    def __init__(self, reason: str, *, code: int = POLICY_VIOLATION, disconnected: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.disconnected = disconnected


_NONCE = 12
_MAC = 16
_TOKEN_BYTES = 8 + _NONCE + _MAC


class CallTokens:
    """Signed, short-lived, single-use tokens the webhook issues and the media stream redeems.

    A token is ``expiry (8 bytes) | nonce (12) | HMAC-SHA256(key, expiry | nonce | CallSid)[:16]``,
    URL-safe base64: any process holding the key can check it, so the webhook and the media
    stream of one call may land on different uvicorn workers. It is bound to its call, expires
    after ``ttl_s`` (wall clock, shared by the workers), and is good once per process. Replayed
    webhooks mint fresh tokens (Twilio's signature has no nonce); what keeps them from running
    streams at once is :class:`StreamGate`'s one live stream per CallSid, on the instance the
    stream path ``/media-stream/<CallSid>`` is routed to.

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
        media_format: ``mediaFormat`` (None when absent: Twilio's default, mu-law 8000 Hz mono).
    """

    stream_sid: str
    call_sid: str
    account_sid: str | None
    parameters: dict[str, str]
    media_format: MediaFormat | None = None


def check_media_format(media_format: MediaFormat | None) -> None:
    """Refuse a stream that does not carry Twilio's 8000 Hz mono mu-law (the serializer's format).

    Raises:
        StreamRefused: Another encoding, rate or channel count (1008).
    """
    if media_format is None:
        return
    if (media_format.encoding, media_format.sampleRate, media_format.channels) != ("audio/x-mulaw", 8000, 1):
        raise StreamRefused(
            f"unsupported media format {media_format.encoding[:32]} {media_format.sampleRate} Hz "
            f"x{media_format.channels} (want audio/x-mulaw 8000 Hz mono)"
        )


async def read_stream_start(
    receive_text, *, timeout_s: float = 10.0, max_messages: int = 4
) -> StreamStart:
    """Read a Twilio media stream up to its ``start`` message (validated: :mod:`.twilio_messages`).

    Twilio sends ``connected`` and then ``start`` before any ``media``.

    Args:
        receive_text: ``async () -> str`` (it may raise :class:`StreamRefused` itself, e.g. for
            a frame over the size allowed before ``start`` or a client that left).
        timeout_s: How long to wait for ``start``, seconds.
        max_messages: Messages to read at most before giving up.

    Raises:
        StreamRefused: No ``start`` in time, a malformed message, or a ``start`` without a
            stream SID.
    """

    async def _read() -> StreamStart:
        for _ in range(max_messages):
            try:
                message = parse_opening(await receive_text())
            except OpeningRefused as e:
                raise StreamRefused(str(e)) from None
            if message is None:
                continue
            body = message.start
            return StreamStart(
                stream_sid=message.stream_sid or "",
                call_sid=body.callSid,
                account_sid=body.accountSid,
                parameters=dict(body.customParameters),
                media_format=body.mediaFormat,
            )
        raise StreamRefused(f"no start within the first {max_messages} messages")

    try:
        return await asyncio.wait_for(_read(), timeout_s)
    except TimeoutError:
        raise StreamRefused(f"no start within {timeout_s:.0f}s") from None


class StreamGate:
    """Limits on a process's media-stream sockets, each taken and released without awaiting.

    - ``max_pending``: sockets accepted but not yet past their ``start`` message (anyone can
      open one; each costs a task and its buffers until ``start`` or the timeout).
    - ``max_streams``: sockets at once, pending and admitted together.
    - One live stream per CallSid: Twilio opens one stream per ``<Connect><Stream>``, so a
      second stream for a call that is still streaming comes from a replayed webhook (whose
      signature carries no nonce) and is refused.

    Args:
        max_pending: Sockets before ``start``, at most.
        max_streams: Sockets in all, at most.

    Raises:
        ValueError: A limit below 1.
    """

    def __init__(self, *, max_pending: int = 16, max_streams: int = 100):
        if max_pending < 1 or max_streams < 1:
            raise ValueError(f"stream limits must be at least 1, got {max_pending}, {max_streams}")
        self.max_pending = max_pending
        self.max_streams = max_streams
        self.pending = 0
        self._live: set[str] = set()

    @property
    def live(self) -> int:
        """Admitted streams now."""
        return len(self._live)

    def arrive(self) -> None:
        """A socket opened: count it as pending.

        Raises:
            StreamRefused: 1013 when either limit is reached.
        """
        if self.pending >= self.max_pending:
            raise StreamRefused(f"over {self.max_pending} streams waiting for start", code=TRY_AGAIN_LATER)
        if self.pending + len(self._live) >= self.max_streams:
            raise StreamRefused(f"this server is at its limit of {self.max_streams} streams", code=TRY_AGAIN_LATER)
        self.pending += 1

    def started(self) -> None:
        """The pending socket got past its opening (admitted or refused)."""
        self.pending -= 1

    def admit(self, call_sid: str) -> None:
        """Let a started stream in as its call's one live stream.

        Raises:
            StreamRefused: 1008 when the call already has a live stream here.
        """
        if call_sid in self._live:
            raise StreamRefused("this call already has a live stream")
        self._live.add(call_sid)

    def ended(self, call_sid: str) -> None:
        """An admitted stream ended."""
        self._live.discard(call_sid)
