"""The Twilio Media Streams messages a stream opens with, as pydantic models.

Twilio's WebSocket messages (https://www.twilio.com/docs/voice/media-streams/websocket-messages):
``{"event": "connected", "protocol": "Call", "version": "1.0.0"}`` first, then ``start``::

    {"event": "start", "sequenceNumber": "1", "streamSid": "MZ...",
     "start": {"accountSid": "AC...", "streamSid": "MZ...", "callSid": "CA...",
               "tracks": ["inbound"], "customParameters": {"token": "..."},
               "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}

Everything before an admitted ``start`` comes from an unauthenticated socket, so it is parsed
strictly: standard JSON only (no ``NaN``/``Infinity``), types as Twilio sends them (a number is
not a string, a list is not a number), bounded lengths. :func:`parse_opening` turns any
deviation into a one-line reason.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# SIDs are two letters and 32 hex digits; allow some slack in length, none in alphabet.
_SID = r"^[A-Za-z]{2}[0-9A-Za-z]{1,62}$"


class OpeningRefused(ValueError):
    """A ``connected`` / ``start`` message that is not what Twilio sends; ``str(e)`` says why."""


class MediaFormat(BaseModel):
    """``start.mediaFormat``: what the stream carries (Twilio: ``audio/x-mulaw``, 8000 Hz, mono)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    encoding: str = Field(max_length=64)
    sampleRate: int = Field(gt=0, le=384_000)
    channels: int = Field(gt=0, le=16)


class StartDetails(BaseModel):
    """``start``'s body (the SIDs, the TwiML ``<Parameter>`` values, the media format)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    streamSid: str | None = Field(default=None, pattern=_SID)
    callSid: str = Field(pattern=_SID)
    accountSid: str | None = Field(default=None, pattern=_SID)
    customParameters: dict[str, str] = Field(default_factory=dict, max_length=32)
    mediaFormat: MediaFormat | None = None


class StartMessage(BaseModel):
    """A whole ``start`` message."""

    model_config = ConfigDict(extra="ignore", strict=True)

    event: Literal["start"]
    streamSid: str | None = Field(default=None, pattern=_SID)
    start: StartDetails

    @property
    def stream_sid(self) -> str | None:
        """The stream's SID (``start.streamSid``, else the envelope's)."""
        return self.start.streamSid or self.streamSid


def _no_constants(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def parse_opening(raw: str) -> StartMessage | None:
    """Parse one message of a stream's opening.

    Args:
        raw: The WebSocket text message.

    Returns:
        The ``start`` message, or None for Twilio's ``connected`` message.

    Raises:
        OpeningRefused: Not standard JSON, not an object, another event, or a ``start`` whose
            fields have the wrong types or shapes (the first problem is named).
    """
    try:
        message = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise OpeningRefused("a message before start was not JSON") from None
    if not isinstance(message, dict):
        raise OpeningRefused("a message before start was not a JSON object")
    event = message.get("event")
    if event == "connected":
        return None
    if event != "start":
        shown = event[:32] if isinstance(event, str) else type(event).__name__
        raise OpeningRefused(f"expected start, got {shown!r}")
    try:
        start = StartMessage.model_validate(message)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise OpeningRefused(f"malformed start: {where}: {first['msg']}") from None
    if not start.stream_sid:
        raise OpeningRefused("start without a streamSid")
    return start


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    # 20 ms of 8 kHz mu-law is 160 bytes (216 in base64); allow a second's worth.
    payload: str = Field(max_length=12_000)


class MediaMessage(BaseModel):
    """A ``media`` message: base64 mu-law audio for the call."""

    model_config = ConfigDict(extra="ignore", strict=True)

    event: Literal["media"]
    media: _Payload


class _Digit(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    digit: str = Field(max_length=1)


class DtmfMessage(BaseModel):
    """A ``dtmf`` message: one key the caller pressed."""

    model_config = ConfigDict(extra="ignore", strict=True)

    event: Literal["dtmf"]
    dtmf: _Digit


def check_call_message(raw: str | bytes) -> str | None:
    """Check a message of an admitted stream before Pipecat's serializer reads it.

    Args:
        raw: The WebSocket message.

    Returns:
        None when the message is one Twilio could send (``media`` and ``dtmf`` with the right
        shapes, valid base64; other events pass, the serializer ignores them), else the reason
        it is not.
    """
    try:
        message = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return "not JSON"
    if not isinstance(message, dict):
        return "not a JSON object"
    event = message.get("event")
    model = {"media": MediaMessage, "dtmf": DtmfMessage}.get(event) if isinstance(event, str) else None
    if model is None:
        return None
    try:
        parsed = model.model_validate(message)
    except ValidationError as e:
        first = e.errors()[0]
        return f"malformed {event}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    if isinstance(parsed, MediaMessage):
        try:
            base64.b64decode(parsed.media.payload, validate=True)
        except (binascii.Error, ValueError):
            return "malformed media: payload is not base64"
    return None
