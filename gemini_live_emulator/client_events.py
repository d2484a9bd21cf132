"""The client -> server events of the Live API as small typed values (parsed by :mod:`.wire`).

The session logic never looks at raw JSON: :func:`.wire.parse_client_message` turns each client
message into these. Source: docs/live-api.md, checked against google-genai 2.34.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

@dataclass
class FunctionDeclaration:
    """One declared function: ``name``, ``behavior`` (``BLOCKING`` / ``NON_BLOCKING``, ``""``
    when the declaration has none: the model's default), raw dict."""

    name: str
    behavior: str = ""
    raw: dict = field(default_factory=dict)


@dataclass
class VadConfig:
    """``realtimeInputConfig`` as the emulator uses it (None means the server default)."""

    disabled: bool = False
    start_sensitivity: str | None = None
    end_sensitivity: str | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    activity_handling: str | None = None
    turn_coverage: str | None = None


@dataclass
class Setup:
    """A parsed ``setup`` message."""

    model: str
    system_instruction: str | None
    tools: list[FunctionDeclaration]
    vad: VadConfig
    response_modalities: list[str]
    voice_name: str | None
    language_code: str | None
    input_transcription: bool
    output_transcription: bool
    resumption_enabled: bool
    resumption_handle: str | None
    compression: dict | None
    initial_history_in_client_content: bool
    raw: dict


@dataclass
class Turn:
    """A conversation turn in ``clientContent``: role and the text of its parts."""

    role: str
    text: str
    parts: list = field(default_factory=list)


@dataclass
class RealtimeAudio:
    """``realtimeInput.audio``: PCM16 LE mono at ``rate`` Hz."""

    pcm: bytes
    rate: int


@dataclass
class RealtimeVideo:
    """``realtimeInput.video``: one image (``image/jpeg`` or ``image/png``)."""

    data: bytes
    mime_type: str


@dataclass
class RealtimeText:
    """``realtimeInput.text``."""

    text: str


@dataclass
class AudioStreamEnd:
    """``realtimeInput.audioStreamEnd``: the client paused its audio stream."""


@dataclass
class ActivityStart:
    """``realtimeInput.activityStart`` (only with automatic activity detection disabled)."""


@dataclass
class ActivityEnd:
    """``realtimeInput.activityEnd`` (only with automatic activity detection disabled)."""


@dataclass
class ClientContent:
    """``clientContent``: turns appended to history, optionally completing the user's turn."""

    turns: list[Turn]
    turn_complete: bool


@dataclass
class FunctionResponse:
    """One entry of ``toolResponse.functionResponses``."""

    id: str | None
    name: str | None
    response: Any
    scheduling: str | None
    will_continue: bool | None


@dataclass
class ToolResponse:
    """``toolResponse``."""

    responses: list[FunctionResponse]


@dataclass
class ContextUpdate:
    """``contextUpdate``: a new system instruction and/or tools, in-session."""

    system_instruction: str | None
    tools: list[FunctionDeclaration] | None


ClientEvent = (
    Setup
    | RealtimeAudio
    | RealtimeVideo
    | RealtimeText
    | AudioStreamEnd
    | ActivityStart
    | ActivityEnd
    | ClientContent
    | ToolResponse
    | ContextUpdate
)
