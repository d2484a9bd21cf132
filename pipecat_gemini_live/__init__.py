"""pipecat-gemini-live: a Gemini Live service for Pipecat that keeps calls alive and in character.

Public names only; see the modules for details.
"""

from .call.audio_hold import AudioCounters
from .frames import PersonaUpdateFrame
from .protocol.switch_plan import SwitchRecord
from .protocol.setup import SessionSpec
from .protocol.profiles import (
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
from .call.live_options import LiveOptions
from .protocol.close_codes import RetryPolicy
from .audio.resampler import AudioResampler, OutputResampler
from .service import GeminiLiveLLMService
from .call.tools import ScheduledResult
from .call.turn_signals import vad_preset
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
