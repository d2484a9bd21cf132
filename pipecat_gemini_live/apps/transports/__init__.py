"""Transports shipped with the package (WAV files for the main job, tests and benchmarks)."""

from .wav import CallClock, WavAudio, WavInputError, WavInputTransport, WavOutputTransport, WavTransport, load_wav

__all__ = [
    "CallClock",
    "WavAudio",
    "WavInputError",
    "WavInputTransport",
    "WavOutputTransport",
    "WavTransport",
    "load_wav",
]
