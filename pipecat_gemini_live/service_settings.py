"""The service's Pipecat settings: their defaults, which fields need a new session, the session
setup they call for, and the frames no Live session can honour."""

from __future__ import annotations

from typing import Any

from pipecat.frames.frames import (
    LLMConfigureOutputFrame,
    LLMMessagesTransformFrame,
    LLMSetToolChoiceFrame,
    TTSSpeakFrame,
)
from pipecat.services.google.gemini_live.llm import (
    GeminiLiveLLMSettings,
    GeminiMediaResolution,
    GeminiModalities,
    language_to_gemini_language,
)
from pipecat.transcriptions.language import Language
from pipecat.utils.types import is_given

from .protocol.setup import SessionSpec, resolve_language

DEFAULT_MODEL = "models/gemini-3.8-live"
DEFAULT_VOICE = "Charon"

# Frames addressed to an LLM that a Live session has no way to honour, and why.
UNSERVED_WHY = {
    TTSSpeakFrame: "the model speaks its own words; there is no text-to-speech input",
    LLMSetToolChoiceFrame: "the Live API has no tool choice",
    LLMConfigureOutputFrame: "the Live API's output is configured in the session setup",
    LLMMessagesTransformFrame: "the session's history cannot be transformed in place",
}
_UNSERVED_TYPES = tuple(UNSERVED_WHY)

# Settings that do not go into a session's setup: changing them needs no new session.
NON_SESSION_FIELDS = {"filter_incomplete_user_turns", "user_turn_completion_config", "extra"}
# Settings that say who is speaking: changing them is a persona change (the reply is cut).
SPEC_FIELDS = {"system_instruction", "voice", "language", "model"}


def unserved_warning(frame: Any) -> str | None:
    """Why ``frame`` (on its way downstream) cannot be served by a Live session, or None."""
    if not isinstance(frame, _UNSERVED_TYPES):  # one check for the frames that pass every time
        return None
    why = next((why for cls, why in UNSERVED_WHY.items() if isinstance(frame, cls)), None)
    if why is None:
        return None
    return f"{type(frame).__name__} cannot be served by a Gemini Live session ({why}); passed on unchanged"


def local_vad(settings: GeminiLiveLLMSettings) -> bool:
    """Whether the settings turn the server's VAD off (``GeminiVADParams(disabled=True)``): the
    pipeline's VAD then drives ``activityStart`` / ``activityEnd``."""
    vad = settings.vad
    return bool(is_given(vad) and vad is not None and vad.disabled)


def initial_settings(
    *,
    model: str | None,
    voice_id: str | None,
    system_instruction: str | None,
    settings: GeminiLiveLLMSettings | None,
) -> GeminiLiveLLMSettings:
    """The settings a service starts with: our defaults, then the constructor's arguments,
    then ``settings`` (which wins), with a Pipecat ``Language`` turned into Gemini's code."""
    defaults = GeminiLiveLLMSettings(
        model=DEFAULT_MODEL,
        system_instruction=system_instruction,
        voice=DEFAULT_VOICE,
        frequency_penalty=None,
        max_tokens=None,
        presence_penalty=None,
        temperature=None,
        top_k=None,
        top_p=None,
        seed=None,
        filter_incomplete_user_turns=False,
        user_turn_completion_config=None,
        modalities=GeminiModalities.AUDIO,
        language="en-US",
        media_resolution=GeminiMediaResolution.UNSPECIFIED,
        vad=None,
        turn_coverage=None,
        context_window_compression={},
        thinking={},
        enable_affective_dialog=False,
        proactivity={},
        extra={},
    )
    if model is not None:
        defaults.model = model
    if voice_id is not None:
        defaults.voice = voice_id
    if settings is not None:
        defaults.apply_update(settings)
    normalize_language(defaults)
    return defaults


def normalize_language(settings: GeminiLiveLLMSettings) -> None:
    """A Pipecat ``Language`` in the settings becomes the code Gemini expects (``"en-US"``)."""
    if isinstance(settings.language, Language):
        settings.language = language_to_gemini_language(settings.language)


def session_spec(settings: GeminiLiveLLMSettings, gemini_tools: Any) -> SessionSpec:
    """The session setup ``settings`` call for, with tools already in Gemini's form."""
    if gemini_tools is not None and not is_given(gemini_tools):
        gemini_tools = None
    si = settings.system_instruction
    return SessionSpec(
        model=str(settings.model),
        system_instruction=si if isinstance(si, str) and si else None,
        voice=str(settings.voice) if is_given(settings.voice) else None,
        language=resolve_language(settings.language),
        tools=list(gemini_tools) if gemini_tools else None,
    )


def needs_switch(changed: dict[str, Any]) -> dict[str, Any] | None:
    """The switch flags a settings update calls for, or None when it needs none."""
    if changed.keys() & SPEC_FIELDS:
        return {}
    if set(changed) - NON_SESSION_FIELDS:
        # Generation fields (temperature, VAD...) exist only in the setup; they are not a
        # change of who is speaking, so the reply in progress is not cut for them.
        return {"force_new": True, "gentle": True}
    return None
