"""The Live API wire format, both ways, with no I/O.

Client messages are parsed into small typed events (the ``h11`` idea): the session logic never
looks at raw JSON, and every rule about the wire lives here. Clients spell keys differently: the
google-genai SDK sends ``realtime_input`` / ``client_content`` / ``tool_response`` snake_case at
the top level, ``setup`` and ``contextUpdate`` camelCase, and passes nested objects through in
whatever case the caller used; raw-websocket clients and the JS SDK send camelCase. Base64 from
the Python SDK is URL-safe, from other clients standard. Every lookup here accepts both.

Server messages are built in :mod:`.server_messages`. Source: docs/live-api.md, checked against
google-genai 2.34.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from . import checks
# The parsed events live in client_events; they stay importable from here (wire.Setup...).
from .client_events import (  # noqa: F401
    FunctionDeclaration,
    VadConfig,
    Setup,
    Turn,
    RealtimeAudio,
    RealtimeVideo,
    RealtimeText,
    AudioStreamEnd,
    ActivityStart,
    ActivityEnd,
    ClientContent,
    FunctionResponse,
    ToolResponse,
    ContextUpdate,
    ClientEvent,
)


# Close codes and the reasons the real service gives (docs/live-api.md).
CLOSE_NORMAL = 1000
CLOSE_INVALID = 1007
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011

REASON_INVALID_ARGUMENT = "Request contains an invalid argument."
REASON_PRECONDITION = "Precondition check failed."
REASON_NOT_FOUND = "Requested entity was not found."
REASON_INTERNAL = "Internal error encountered."
REASON_CANCELLED = "The operation was cancelled."
REASON_BAD_KEY = "API key not valid. Please pass a valid API key."


class ProtocolError(Exception):
    """A client message the server refuses; the connection closes with ``code`` and ``reason``.

    Args:
        code: WebSocket close code (1007 invalid argument, 1008 policy).
        reason: Close reason, at most 123 bytes on the wire (truncated by :meth:`wire_reason`).
    """

    def __init__(self, code: int, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason

    def wire_reason(self) -> str:
        """The reason cut to the 123 bytes a close frame can carry."""
        raw = self.reason.encode("utf-8")[:123]
        return raw.decode("utf-8", errors="ignore")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def get(obj: Any, camel: str, default: Any = None) -> Any:
    """Read ``obj[camel]`` or its snake_case twin; ``default`` when absent or not a dict."""
    if not isinstance(obj, dict):
        return default
    if camel in obj:
        return obj[camel]
    snake = _snake(camel)
    if snake in obj:
        return obj[snake]
    return default


def has(obj: Any, camel: str) -> bool:
    """Whether ``obj`` carries ``camel`` in either spelling."""
    return isinstance(obj, dict) and (camel in obj or _snake(camel) in obj)


def b64decode_any(data: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not.

    Raises:
        ProtocolError: 1007 when the text is not base64.
    """
    if not isinstance(data, str):
        raise ProtocolError(CLOSE_INVALID, "Invalid value at 'data' (TYPE_BYTES): not a string")
    text = data.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ProtocolError(CLOSE_INVALID, f"Invalid value at 'data' (TYPE_BYTES): {e}") from e


def b64encode(data: bytes) -> str:
    """Standard base64, as the real server sends it."""
    return base64.b64encode(data).decode("ascii")


_SETUP_FIELDS = {
    "model",
    "generationConfig",
    "systemInstruction",
    "tools",
    "realtimeInputConfig",
    "sessionResumption",
    "contextWindowCompression",
    "inputAudioTranscription",
    "outputAudioTranscription",
    "proactivity",
    "historyConfig",
    "avatarConfig",
    "safetySettings",
    "labels",
}
_TOP_LEVEL = ("setup", "realtimeInput", "clientContent", "toolResponse", "contextUpdate")


def _content_text(content: Any) -> str | None:
    """Text of a ``Content`` (dict with parts), a bare string, or a list of parts."""
    if content is None:
        return None
    if isinstance(content, str):
        return content
    parts = get(content, "parts") if isinstance(content, dict) else content
    if not isinstance(parts, list):
        return None
    return "".join(str(get(p, "text", "")) for p in parts if isinstance(p, dict))


def _declarations(tools: Any) -> list[FunctionDeclaration]:
    out: list[FunctionDeclaration] = []
    if tools is None:
        return out
    if isinstance(tools, dict):
        tools = get(tools, "tools", [tools])
    if not isinstance(tools, list):
        raise ProtocolError(CLOSE_INVALID, "Invalid value at 'setup.tools': expected a list")
    for tool in tools:
        for decl in get(tool, "functionDeclarations", []) or []:
            name = get(decl, "name")
            if not name:
                raise ProtocolError(
                    CLOSE_INVALID, "Invalid function declaration: 'name' is required"
                )
            out.append(
                FunctionDeclaration(
                    name=name, behavior=str(get(decl, "behavior", "")), raw=decl
                )
            )
    return out


def _parse_setup(body: Any) -> Setup:
    if not isinstance(body, dict):
        raise ProtocolError(CLOSE_INVALID, "Invalid value at 'setup': expected an object")
    for key in body:
        camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
        if camel not in _SETUP_FIELDS:
            raise ProtocolError(
                CLOSE_INVALID,
                f'Invalid JSON payload received. Unknown name "{key}" at \'setup\': '
                "Cannot find field.",
            )
    model = get(body, "model")
    if not model or not isinstance(model, str):
        raise ProtocolError(CLOSE_INVALID, "setup.model is required")
    gen = get(body, "generationConfig", {}) or {}
    speech = get(gen, "speechConfig", {}) or {}
    voice = get(get(get(speech, "voiceConfig", {}), "prebuiltVoiceConfig", {}), "voiceName")
    ric = get(body, "realtimeInputConfig", {}) or {}
    aad = get(ric, "automaticActivityDetection", {}) or {}
    vad = VadConfig(
        disabled=bool(get(aad, "disabled", False)),
        start_sensitivity=get(aad, "startOfSpeechSensitivity"),
        end_sensitivity=get(aad, "endOfSpeechSensitivity"),
        prefix_padding_ms=get(aad, "prefixPaddingMs"),
        silence_duration_ms=get(aad, "silenceDurationMs"),
        activity_handling=get(ric, "activityHandling"),
        turn_coverage=get(ric, "turnCoverage"),
    )
    resumption = get(body, "sessionResumption")
    history = get(body, "historyConfig", {}) or {}
    return Setup(
        model=model,
        system_instruction=_content_text(get(body, "systemInstruction")),
        tools=_declarations(get(body, "tools")),
        vad=vad,
        response_modalities=[str(m).upper() for m in get(gen, "responseModalities", []) or []],
        voice_name=voice,
        language_code=get(speech, "languageCode"),
        input_transcription=has(body, "inputAudioTranscription"),
        output_transcription=has(body, "outputAudioTranscription"),
        resumption_enabled=resumption is not None,
        resumption_handle=get(resumption, "handle") if isinstance(resumption, dict) else None,
        compression=get(body, "contextWindowCompression"),
        initial_history_in_client_content=bool(get(history, "initialHistoryInClientContent")),
        raw=body,
    )


def _rate_from_mime(mime: str) -> int:
    m = re.match(r"\s*audio/pcm\s*(?:;\s*rate\s*=\s*(\d+))?\s*$", mime or "", re.I)
    if not m:
        raise ProtocolError(CLOSE_INVALID, f"Unsupported audio mime type: {mime!r}")
    rate = int(m.group(1) or 16000)
    if not 4000 <= rate <= 192000:
        raise ProtocolError(CLOSE_INVALID, f"Unsupported audio sample rate: {rate}")
    return rate


def _parse_blob(blob: Any) -> RealtimeAudio | RealtimeVideo:
    mime = get(blob, "mimeType", "")
    data = b64decode_any(get(blob, "data", ""))
    if str(mime).lower().startswith("audio/"):
        pcm = data
        if len(pcm) % 2:
            raise ProtocolError(CLOSE_INVALID, "Audio data is not whole PCM16 samples")
        return RealtimeAudio(pcm=pcm, rate=_rate_from_mime(mime))
    if str(mime).lower().startswith("image/"):
        return RealtimeVideo(data=data, mime_type=mime)
    raise ProtocolError(CLOSE_INVALID, f"Unsupported media mime type: {mime!r}")


def _parse_realtime(body: Any) -> list[ClientEvent]:
    if not isinstance(body, dict):
        raise ProtocolError(CLOSE_INVALID, "Invalid value at 'realtime_input'")
    events: list[ClientEvent] = []
    for chunk in get(body, "mediaChunks", []) or []:  # the deprecated spelling
        events.append(_parse_blob(chunk))
    if has(body, "audio"):
        events.append(_parse_blob(get(body, "audio")))
    if has(body, "video"):
        events.append(_parse_blob(get(body, "video")))
    if has(body, "media"):
        events.append(_parse_blob(get(body, "media")))
    if has(body, "text"):
        events.append(RealtimeText(text=str(get(body, "text"))))
    if get(body, "audioStreamEnd"):
        events.append(AudioStreamEnd())
    if has(body, "activityStart"):
        events.append(ActivityStart())
    if has(body, "activityEnd"):
        events.append(ActivityEnd())
    if not events:
        raise ProtocolError(CLOSE_INVALID, "realtime_input carries no known field")
    return events


def _parse_client_content(body: Any) -> ClientContent:
    if not isinstance(body, dict):
        raise ProtocolError(CLOSE_INVALID, "Invalid value at 'client_content'")
    turns = []
    for t in get(body, "turns", []) or []:
        role = str(get(t, "role", "user"))
        parts = get(t, "parts", []) or []
        turns.append(Turn(role=role, text=_content_text(t) or "", parts=parts))
    return ClientContent(turns=turns, turn_complete=bool(get(body, "turnComplete", False)))


def _parse_tool_response(body: Any) -> ToolResponse:
    responses = []
    for r in get(body, "functionResponses", []) or []:
        response = get(r, "response")
        scheduling = get(r, "scheduling") or get(response, "scheduling")
        responses.append(
            FunctionResponse(
                id=get(r, "id"),
                name=get(r, "name"),
                response=response,
                scheduling=str(scheduling).upper() if scheduling else None,
                will_continue=get(r, "willContinue"),
            )
        )
    if not responses:
        raise ProtocolError(CLOSE_INVALID, "tool_response.function_responses is empty")
    return ToolResponse(responses=responses)


def _parse_context_update(body: Any) -> ContextUpdate:
    tools = get(body, "tools")
    return ContextUpdate(
        system_instruction=_content_text(get(body, "systemInstruction")),
        tools=_declarations(get(tools, "tools", tools)) if tools is not None else None,
    )


def message_kind(raw: str | bytes) -> str | None:
    """The camelCase top-level key of a one-key JSON object message, else None."""
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(msg, dict) or len(msg) != 1:
        return None
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), next(iter(msg)))


def parse_client_message(raw: str | bytes) -> list[ClientEvent]:
    """Parse one client WebSocket message into events.

    Args:
        raw: The text (or binary) frame as received.

    Returns:
        One or more events (a legacy ``mediaChunks`` message can carry several).

    Raises:
        ProtocolError: 1007 for JSON that is not an object, an unknown top-level key, or a
            field of the wrong shape.
    """
    try:
        msg = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(CLOSE_INVALID, f"Invalid JSON payload received. {e}") from e
    except RecursionError as e:
        raise ProtocolError(CLOSE_INVALID, "Invalid JSON payload received. Nested too deeply.") from e
    if not isinstance(msg, dict) or len(msg) != 1:
        keys = list(msg) if isinstance(msg, dict) else type(msg).__name__
        raise ProtocolError(
            CLOSE_INVALID, f"Invalid JSON payload: expected exactly one message, got {keys}"
        )
    key, body = next(iter(msg.items()))
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
    issue = checks.problem(camel, body)
    if issue is not None:
        raise ProtocolError(CLOSE_INVALID, issue)
    if camel == "setup":
        return [_parse_setup(body)]
    if camel == "realtimeInput":
        return _parse_realtime(body)
    if camel == "clientContent":
        return [_parse_client_content(body)]
    if camel == "toolResponse":
        return [_parse_tool_response(body)]
    if camel == "contextUpdate":
        return [_parse_context_update(body)]
    raise ProtocolError(
        CLOSE_INVALID,
        f'Invalid JSON payload received. Unknown name "{key}": Cannot find field '
        f"(known: {', '.join(_TOP_LEVEL)}).",
    )
