"""pipecat-gemini-live: a Gemini Live service for Pipecat that keeps calls alive and in character.

Public names only; see the modules for details.
"""

from .audio_hold import AudioCounters
from .frames import PersonaUpdateFrame
from .handover import SwitchRecord
from .live_config import SessionSpec
from .models import (
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

__all__ = [
    "AudioCounters",
    "AudioResampler",
    "GeminiLiveLLMService",
    "HistorySeeding",
    "LiveOptions",
    "ModelProfile",
    "OutputResampler",
    "PersonaUpdateFrame",
    "RetryPolicy",
    "SessionSpec",
    "SwitchRecord",
    "TextInput",
    "known_profiles",
    "profile_for",
    "register_profile",
    "unregister_profile",
]
