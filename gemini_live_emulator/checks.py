"""Shape checks of client messages, before anything acts on them (pydantic).

The real service validates every message against its protobuf schema and closes with 1007
``Invalid value at '<path>'`` when a field has the wrong type (``generationConfig: [1]``,
``tools: {}``, ``systemInstruction: 5``, a part list that is a number). The models below say
which type each field the emulator reads must have; fields it does not read are allowed
through (unknown *names* are refused elsewhere, :func:`.wire.parse_client_message`). Both key
spellings (camelCase and the SDKs' snake_case) are accepted, as the service does.

Booleans are strict: proto3's JSON mapping writes a ``bool`` as the JSON literal ``true`` or
``false``, so ``"turnComplete": 1`` or ``"yes"`` is refused, not read as true (pydantic's lax
mode would take both).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError
from pydantic.alias_generators import to_camel


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)


class Part(_Shape):
    text: str | None = None
    inline_data: dict | None = None
    function_call: dict | None = None
    function_response: dict | None = None


class Content(_Shape):
    role: str | None = None
    parts: list[Part] | None = None


class FunctionDeclaration(_Shape):
    name: str | None = None
    description: str | None = None
    behavior: str | None = None
    parameters: dict | None = None
    parameters_json_schema: dict | None = None


class Tool(_Shape):
    function_declarations: list[FunctionDeclaration] | None = None


class VoiceConfig(_Shape):
    prebuilt_voice_config: dict | None = None


class SpeechConfig(_Shape):
    voice_config: VoiceConfig | None = None
    language_code: str | None = None


class GenerationConfig(_Shape):
    response_modalities: list[str] | None = None
    speech_config: SpeechConfig | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None


class ActivityDetection(_Shape):
    disabled: StrictBool | None = None
    start_of_speech_sensitivity: str | None = None
    end_of_speech_sensitivity: str | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None


class RealtimeInputConfig(_Shape):
    automatic_activity_detection: ActivityDetection | None = None
    activity_handling: str | None = None
    turn_coverage: str | None = None


class Setup(_Shape):
    model: str | None = None
    generation_config: GenerationConfig | None = None
    system_instruction: Content | str | None = None
    tools: list[Tool] | None = None
    realtime_input_config: RealtimeInputConfig | None = None
    session_resumption: dict | None = None
    context_window_compression: dict | None = None
    input_audio_transcription: dict | None = None
    output_audio_transcription: dict | None = None
    history_config: dict | None = None
    proactivity: dict | None = None


class Blob(_Shape):
    data: str | None = None
    mime_type: str | None = None


class RealtimeInput(_Shape):
    media_chunks: list[Blob] | None = None
    audio: Blob | None = None
    video: Blob | None = None
    media: Blob | None = None
    text: str | None = None
    audio_stream_end: StrictBool | None = None
    activity_start: dict | None = None
    activity_end: dict | None = None


class ClientContent(_Shape):
    turns: list[Content] | None = None
    turn_complete: StrictBool | None = None


class FunctionResponse(_Shape):
    id: str | None = None
    name: str | None = None
    response: dict | None = None
    scheduling: str | None = None
    will_continue: StrictBool | None = None


class ToolResponse(_Shape):
    function_responses: list[FunctionResponse] | None = None


class ContextUpdate(_Shape):
    system_instruction: Content | str | None = None
    tools: list[Tool] | dict | None = None


SHAPES: dict[str, type[_Shape]] = {
    "setup": Setup,
    "realtimeInput": RealtimeInput,
    "clientContent": ClientContent,
    "toolResponse": ToolResponse,
    "contextUpdate": ContextUpdate,
}


def problem(kind: str, body: Any) -> str | None:
    """What is wrong with the body of a ``kind`` message (camelCase kind), or None.

    Returns:
        ``Invalid value at 'setup.generation_config' (expected an object)`` style text.
    """
    shape = SHAPES.get(kind)
    if shape is None:
        return None
    if not isinstance(body, dict):
        return f"Invalid value at '{_snake(kind)}' (expected an object)"
    try:
        shape.model_validate(body)
    except ValidationError as e:
        first = e.errors()[0]
        path = ".".join([_snake(kind), *(_snake(str(p)) for p in _field_path(first["loc"]))])
        return f"Invalid value at '{path}' ({first['msg'].lower()})"
    except RecursionError:
        return f"Invalid value at '{_snake(kind)}' (nested too deeply)"
    return None


def _field_path(loc: tuple) -> list:
    # pydantic names the union branch it tried ("Content", "str", "list[Tool]"): not a field.
    return [p for p in loc if not (isinstance(p, str) and (p[:1].isupper() or "[" in p or p in ("str", "dict")))]


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)
