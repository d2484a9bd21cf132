"""Build a session's ``LiveConnectConfig`` (the ``setup`` message) from settings and a profile.

Pure: no I/O, no service state. Everything model-dependent reads the :class:`ModelProfile`.
Transcription both ways and session resumption are always requested: the service needs the
transcripts to carry the conversation into a new session, and a handle to resume after a
goAway or a drop.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from google.genai.types import (
    ActivityHandling,
    AudioTranscriptionConfig,
    AutomaticActivityDetection,
    ContextWindowCompressionConfig,
    HistoryConfig,
    LiveConnectConfig,
    MediaResolution,
    Modality,
    PrebuiltVoiceConfig,
    ProactivityConfig,
    RealtimeInputConfig,
    SessionResumptionConfig,
    SlidingWindow,
    SpeechConfig,
    VoiceConfig,
)
from loguru import logger
from pipecat.services.google.gemini_live.llm import (
    ContextWindowCompressionParams,
    GeminiLiveLLMSettings,
    language_to_gemini_language,
)
from pipecat.transcriptions.language import Language
from pipecat.utils.types import is_given

from .profiles import HistorySeeding, ModelProfile


@dataclass(frozen=True)
class SessionSpec:
    """Everything that goes into one session's setup (what a persona switch changes).

    Attributes:
        model: Model name (``models/`` prefix optional).
        system_instruction: The persona / instruction text, or None.
        voice: Prebuilt voice name (``"Charon"``, ``"Puck"``...).
        language: BCP-47 language code for speech (``"en-US"``, ``"ko-KR"``).
        tools: Tools in Gemini's format (list of dicts with ``function_declarations``), or None.
    """

    model: str
    system_instruction: str | None
    voice: str | None
    language: str | None
    tools: list[Any] | None = None

    def setup_only_changes(self, other: "SessionSpec") -> set[str]:
        """Fields that differ from ``other`` and can only be set by a new setup."""
        changed = set()
        for name in ("model", "voice", "language"):
            if getattr(self, name) != getattr(other, name):
                changed.add(name)
        return changed

    def context_changes(self, other: "SessionSpec") -> set[str]:
        """Fields that differ and that ``contextUpdate`` can carry."""
        changed = set()
        if self.system_instruction != other.system_instruction:
            changed.add("system_instruction")
        if self.tools != other.tools:
            changed.add("tools")
        return changed


def resolve_language(language: Any) -> str | None:
    """A Pipecat ``Language`` or a code string -> the code Gemini expects (``"en-US"``)."""
    if language is None or not is_given(language):
        return None
    if isinstance(language, Language):
        return language_to_gemini_language(language)
    return str(language)


def tag_tool_behaviors(tools: list[Any], non_blocking: set[str]) -> list[Any]:
    """A copy of ``tools`` with ``behavior: NON_BLOCKING`` on the named functions and
    ``behavior: BLOCKING`` on the others that declare none.

    Every behavior is explicit because the default moved: 3.8 runs a function declared
    without one NON_BLOCKING, as reported from 2026-10 (docs/model-rules.md), so a function
    the application expects the model to wait for must say so.

    Args:
        tools: Gemini-format tools (dicts holding ``function_declarations`` lists).
        non_blocking: Names of the functions to mark ``NON_BLOCKING``.
    """
    tagged = copy.deepcopy(tools)
    for tool in tagged:
        if not isinstance(tool, dict):
            continue
        for decl in tool.get("function_declarations", []) or []:
            if decl.get("name") in non_blocking:
                decl["behavior"] = "NON_BLOCKING"
            else:
                decl.setdefault("behavior", "BLOCKING")
    return tagged


def build_connect_config(
    spec: SessionSpec,
    settings: GeminiLiveLLMSettings,
    profile: ModelProfile,
    *,
    resumption_handle: str | None = None,
    non_blocking_functions: set[str] | None = None,
    default_compression: bool = False,
    barge_in: bool = True,
) -> LiveConnectConfig:
    """The ``LiveConnectConfig`` for one session.

    Args:
        spec: Model, instruction, voice, language and tools of this session.
        settings: The service's Pipecat settings (generation parameters, VAD, compression...).
        profile: What the model accepts.
        resumption_handle: A ``sessionResumptionUpdate.newHandle`` to resume, if any.
        non_blocking_functions: Functions to declare ``NON_BLOCKING`` (ignored when the
            profile has no non-blocking tools: the model would refuse the setup).
        default_compression: Ask for sliding-window compression when the settings leave it
            unset (an empty dict, Pipecat's default); an explicit setting always wins.
        barge_in: False sets ``activityHandling: NO_INTERRUPTION`` (caller speech does not cut
            the bot).

    Returns:
        The config to pass to ``client.aio.live.connect``.
    """

    def given(value):
        return value if is_given(value) else None

    modalities = given(settings.modalities)
    media_resolution = given(settings.media_resolution)
    # Generation fields go on LiveConnectConfig itself (``generation_config`` is deprecated).
    config = LiveConnectConfig(
        response_modalities=[Modality(getattr(modalities, "value", modalities) or "AUDIO")],
        speech_config=SpeechConfig(
            voice_config=VoiceConfig(prebuilt_voice_config=PrebuiltVoiceConfig(voice_name=spec.voice))
            if spec.voice
            else None,
            language_code=spec.language,
        ),
        temperature=given(settings.temperature),
        top_p=given(settings.top_p),
        top_k=given(settings.top_k),
        max_output_tokens=given(settings.max_tokens),
        seed=given(settings.seed),
        media_resolution=MediaResolution(media_resolution.value) if media_resolution else None,
        system_instruction=spec.system_instruction or None,
        input_audio_transcription=AudioTranscriptionConfig(),
        output_audio_transcription=AudioTranscriptionConfig(),
        session_resumption=SessionResumptionConfig(handle=resumption_handle),
    )
    if profile.history_seeding is HistorySeeding.INITIAL_HISTORY:
        config.history_config = HistoryConfig(initial_history_in_client_content=True)

    thinking = given(settings.thinking)
    if thinking:
        config.thinking_config = thinking
    if given(settings.enable_affective_dialog):
        if profile.affective_dialog:
            config.enable_affective_dialog = True
        else:
            logger.warning(f"{profile.name} does not take enable_affective_dialog; not sent")
    proactivity = given(settings.proactivity)
    if proactivity:
        if profile.proactivity:
            config.proactivity = (
                ProactivityConfig(**proactivity) if isinstance(proactivity, dict) else proactivity
            )
        else:
            logger.warning(f"{profile.name} does not take proactivity; not sent")

    compression = given(settings.context_window_compression)
    if isinstance(compression, dict):
        compression = ContextWindowCompressionParams(**compression) if compression else None
    if compression is None and default_compression:
        compression = ContextWindowCompressionParams(enabled=True)
    if compression and compression.enabled:
        config.context_window_compression = ContextWindowCompressionConfig(
            sliding_window=SlidingWindow(), trigger_tokens=compression.trigger_tokens
        )

    vad = given(settings.vad)
    turn_coverage = given(settings.turn_coverage)
    if vad or turn_coverage or not barge_in:
        detection = None
        if vad:
            # Local-VAD mode: the SDK types have the marks sent with the server's detection
            # disabled; a model that takes them only with it on (profile) keeps it on.
            detection = AutomaticActivityDetection(
                disabled=vad.disabled and not profile.manual_activity_with_detection,
                start_of_speech_sensitivity=vad.start_sensitivity,
                end_of_speech_sensitivity=vad.end_sensitivity,
                prefix_padding_ms=vad.prefix_padding_ms,
                silence_duration_ms=vad.silence_duration_ms,
            )
        config.realtime_input_config = RealtimeInputConfig(
            automatic_activity_detection=detection,
            turn_coverage=turn_coverage,
            activity_handling=None if barge_in else ActivityHandling.NO_INTERRUPTION,
        )

    if spec.tools:
        tools = spec.tools
        if profile.non_blocking_tools:  # the profiles whose models take a behavior at all
            tools = tag_tool_behaviors(tools, non_blocking_functions or set())
        config.tools = tools
    return config
