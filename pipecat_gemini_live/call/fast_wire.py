"""The two messages that make up most of a call's traffic, without the SDK's generic conversion.

Why. A call sends caller audio (``realtimeInput.audio``) several times a second and receives
reply audio (``serverContent.modelTurn.parts[].inlineData``) 25 times a second while the bot
speaks. google-genai converts every message through its generic machinery (pydantic
validation, converter tables, a type check of every field): in ``make bench``'s profile that
was about a third of our service's CPU. For exactly these two shapes this module builds the
same JSON the SDK sends, and the same ``LiveServerMessage`` the SDK returns (without
re-validating what is already known to be well-formed), on the SDK's own WebSocket. Every other
message, and any SDK that does not look as expected, goes through the SDK unchanged.

Wire shapes (Live API reference, ``BidiGenerateContentRealtimeInput`` and
``BidiGenerateContentServerContent``; the SDK writes the outer key as ``realtime_input``):

- sent: ``{"realtime_input": {"audio": {"data": <URL-safe base64>, "mime_type": "audio/pcm;rate=16000"}}}``
- received: ``{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": <base64>,
  "mimeType": "audio/pcm;rate=24000"}}]}}}``

Equivalence with the SDK's own conversion is tested in ``tests/unit/test_fast_wire.py``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable
from functools import partial
from inspect import signature
from typing import Any

from google.genai import types

try:  # the SDK's internals this module relies on; without them the SDK path is used
    from google.genai import _live_converters as _converters
    from google.genai import errors as _errors
    from websockets.exceptions import ConnectionClosed
except ImportError:  # pragma: no cover - a google-genai without these
    _converters = None  # type: ignore[assignment]


_AUDIO_HEAD = b'{"realtime_input": {"audio": {"data": "'
_AUDIO_MIME = b'", "mime_type": "'
_AUDIO_TAIL = b'"}}}'
# A MIME type that needs no JSON escaping (``audio/pcm;rate=16000`` and the like).
_PLAIN_MIME = re.compile(r"[A-Za-z0-9/;=.+_-]+")


def audio_input_message(audio: bytes, mime_type: str) -> bytes:
    """The JSON ``send_realtime_input(audio=Blob(...))`` sends, as UTF-8 bytes.

    Joined from fixed pieces rather than ``json.dumps``: base64 and a plain MIME type need no
    escaping, and the bytes go out as a text frame without a str -> UTF-8 copy (about 11 us
    per 60 ms message down to about 4 in ``bench/micro.py``'s terms).

    Args:
        audio: PCM16 LE mono.
        mime_type: ``audio/pcm;rate=<Hz>``.
    """
    # The SDK writes URL-safe base64 and the snake_case field name (proto JSON takes both).
    data = base64.urlsafe_b64encode(audio)
    if _PLAIN_MIME.fullmatch(mime_type) is None:
        payload = {"realtime_input": {"audio": {"data": data.decode("ascii"), "mime_type": mime_type}}}
        return json.dumps(payload).encode()
    return b"".join((_AUDIO_HEAD, data, _AUDIO_MIME, mime_type.encode("ascii"), _AUDIO_TAIL))


def audio_reply(raw: Any) -> types.LiveServerMessage | None:
    """A decoded server message that carries only reply audio, as a ``LiveServerMessage``.

    Returns:
        The message (``server_content.model_turn.parts[].inline_data`` with decoded bytes),
        or None when ``raw`` has any other shape (the caller then uses the SDK's conversion).
    """
    if not isinstance(raw, dict) or len(raw) != 1:
        return None
    content = raw.get("serverContent")
    if not isinstance(content, dict) or len(content) != 1:
        return None
    turn = content.get("modelTurn")
    if not isinstance(turn, dict) or not turn.keys() <= {"parts", "role"}:
        return None
    parts = turn.get("parts")
    role = turn.get("role")
    if not isinstance(parts, list) or not parts or not (role is None or isinstance(role, str)):
        return None
    built = []
    for part in parts:
        if not isinstance(part, dict) or len(part) != 1:
            return None
        blob = part.get("inlineData")
        if not isinstance(blob, dict) or not blob.keys() <= {"data", "mimeType"}:
            return None
        data, mime = blob.get("data"), blob.get("mimeType")
        if not isinstance(data, str) or not (mime is None or isinstance(mime, str)):
            return None
        try:
            pcm = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return None
        built.append(_construct(types.Part, inline_data=_construct(types.Blob, data=pcm, mime_type=mime)))
    fields: dict[str, Any] = {"parts": built}
    if role is not None:
        fields["role"] = role
    return _construct(
        types.LiveServerMessage,
        server_content=_construct(types.LiveServerContent, model_turn=_construct(types.Content, **fields)),
    )


_templates: dict[type, dict[str, Any] | None] = {}


def _construct(cls: type, **fields: Any) -> Any:
    """``cls.model_construct(**fields)`` at a fraction of its cost.

    ``model_construct`` fills every unset field's default one by one (a deep copy each); these
    models have 10-30 fields, all defaulting to None. The defaults are read once per class
    and shared (only when all are immutable; otherwise ``model_construct`` is used).
    """
    template = _templates.get(cls, ...)
    if template is ...:
        empty = cls.model_construct()
        values = dict(empty.__dict__)
        plain = all(v is None or isinstance(v, (str, int, float, bool, bytes)) for v in values.values())
        template = _templates[cls] = values if plain and empty.__pydantic_extra__ is None and empty.__pydantic_private__ is None else None
    if template is None:
        return cls.model_construct(**fields)
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", {**template, **fields})
    object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def fast_sender(sdk: Any) -> Callable[[bytes], Awaitable[None]] | None:
    """``send(utf8_json)`` on the SDK session's WebSocket, as a text frame, or None to keep
    using the SDK's methods."""
    ws = getattr(sdk, "_ws", None)
    send = getattr(ws, "send", None)
    if not callable(send):
        return None
    try:
        takes_text = "text" in signature(send).parameters
    except (TypeError, ValueError):
        takes_text = False
    if takes_text:  # websockets >= 14: UTF-8 bytes go out as a text frame as they are
        return partial(send, text=True)

    async def send_str(message: bytes) -> None:
        await send(message.decode())

    return send_str


def fast_receiver(sdk: Any) -> Callable[[], Awaitable[types.LiveServerMessage]] | None:
    """A ``receive()`` for the SDK session that builds reply-audio messages directly.

    Any other message goes through the SDK's own conversion (the same steps as its private
    ``AsyncSession._receive``), errors included: a closed socket raises the SDK's ``APIError``
    with the close code. Returns None (use ``sdk.receive()``) for Vertex AI sessions and for an
    SDK whose internals differ.
    """
    ws = getattr(sdk, "_ws", None)
    api = getattr(sdk, "_api_client", None)
    if _converters is None or ws is None or api is None or getattr(api, "vertexai", True):
        return None
    convert = getattr(_converters, "_LiveServerMessage_from_mldev", None)
    from_response = getattr(types.LiveServerMessage, "_from_response", None)
    if convert is None or from_response is None or not callable(getattr(ws, "recv", None)):
        return None
    empty = types.LiveServerMessage().model_dump()

    async def receive() -> types.LiveServerMessage:
        try:
            raw = await ws.recv(decode=False)
        except ConnectionClosed as e:
            if e.rcvd:
                code, reason = e.rcvd.code, e.rcvd.reason
            else:
                code, reason = 1006, "Abnormal closure."
            _errors.APIError.raise_error(code, reason, None)
        try:
            response = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            raise ValueError(f"Failed to parse response: {raw!r}") from None
        fast = audio_reply(response)
        if fast is not None:
            return fast
        response_dict = convert(response)
        if not response_dict and response:
            _errors.APIError.raise_error(response.get("code"), response, None)
        return from_response(response=response_dict, kwargs=dict(empty))

    return receive
