"""The Twilio audio path (8 kHz mu-law media streams) and the checks on a call's opening."""

from .audio import TelephonyAudio

__all__ = ["TelephonyAudio"]
