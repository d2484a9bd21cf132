"""pipecat-gemini-live: a Gemini Live service for Pipecat that keeps calls alive and in character.

Public names only; see the modules for details.
"""

from .audio_hold import AudioCounters
from .frames import PersonaUpdateFrame
from .switches import SwitchRecord
from .live_config import SessionSpec
from .models import (
    GEMINI_2_5_NATIVE_AUDIO,
    GEMINI_3_1_LIVE,
    GEMINI_3_8_LIVE,
    UNKNOWN_MODEL,
    HistorySeeding,
    ModelProfile,
    TextInput,
    known_profiles,
    profile_for,
    register_profile,
    unregister_profile,
)
from .options import LiveOptions
from .reconnect import RetryPolicy
from .resampler import AudioResampler, OutputResampler
from .service import GeminiLiveLLMService
from .tools import ScheduledResult
from .turn_taking import vad_preset
from .vertex import GeminiLiveVertexLLMService

__all__ = [
    "GEMINI_2_5_NATIVE_AUDIO",
    "GEMINI_3_1_LIVE",
    "GEMINI_3_8_LIVE",
    "UNKNOWN_MODEL",
    "AudioCounters",
    "AudioResampler",
    "GeminiLiveLLMService",
    "GeminiLiveVertexLLMService",
    "HistorySeeding",
    "LiveOptions",
    "ModelProfile",
    "OutputResampler",
    "PersonaUpdateFrame",
    "RetryPolicy",
    "ScheduledResult",
    "SessionSpec",
    "SwitchRecord",
    "TextInput",
    "known_profiles",
    "profile_for",
    "register_profile",
    "unregister_profile",
    "vad_preset",
]
