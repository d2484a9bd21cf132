"""Turn-taking: VAD presets, and user turn frames from the server's own signals.

**Presets.** Server-side VAD is the default; :func:`vad_preset` maps ``"high"`` /
``"medium"`` / ``"low"`` sensitivity to the Live API's ``automaticActivityDetection`` fields
(start/end sensitivity, prefix padding, silence duration). Full manual settings stay available
through Pipecat's ``GeminiVADParams``. ``GeminiVADParams(disabled=True)`` hands turn detection
to the pipeline's own VAD (see :mod:`.caller_audio`).

**Turn frames.** With server-side VAD the Live API says nothing explicit about the caller's
turns, but it does signal them: the first input transcription of a turn means the caller is
speaking, ``interrupted`` means they talked over the bot, and the start of a reply means their
turn is over. :class:`TurnSignals` turns those into ``UserStartedSpeakingFrame`` /
``UserStoppedSpeakingFrame`` (broadcast both ways), so aggregators, RTVI clients and observers
see who is speaking.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from google.genai.types import EndSensitivity, StartSensitivity
from pipecat.frames.frames import UserStartedSpeakingFrame, UserStoppedSpeakingFrame
from pipecat.services.google.gemini_live.llm import GeminiVADParams

_PRESETS = {
    # Reacts to the first syllable and ends turns quickly: snappy, but interrupts more often.
    "high": dict(
        start_sensitivity=StartSensitivity.START_SENSITIVITY_HIGH,
        end_sensitivity=EndSensitivity.END_SENSITIVITY_HIGH,
        prefix_padding_ms=20,
        silence_duration_ms=300,
    ),
    "medium": dict(prefix_padding_ms=100, silence_duration_ms=500),
    # Waits for clear speech and long pauses: for noisy lines and callers who think aloud.
    "low": dict(
        start_sensitivity=StartSensitivity.START_SENSITIVITY_LOW,
        end_sensitivity=EndSensitivity.END_SENSITIVITY_LOW,
        prefix_padding_ms=300,
        silence_duration_ms=900,
    ),
}


def vad_preset(name: str, **overrides) -> GeminiVADParams:
    """Server-side VAD settings for a sensitivity preset.

    Args:
        name: ``"high"``, ``"medium"`` or ``"low"``.
        **overrides: Any ``GeminiVADParams`` field to set on top (``silence_duration_ms=400``).

    Returns:
        ``GeminiVADParams`` for ``GeminiLiveLLMService.Settings(vad=...)``.

    Raises:
        ValueError: For an unknown preset name.
    """
    try:
        fields = dict(_PRESETS[name.lower()])
    except KeyError:
        raise ValueError(f"unknown VAD preset {name!r} (one of {', '.join(_PRESETS)})") from None
    fields.update(overrides)
    return GeminiVADParams(**fields)


class TurnSignals:
    """User turn frames from the server's signals (server-side VAD only).

    Args:
        manual_turns: Whether the pipeline's VAD drives the turns (then this stays silent).
        broadcast_frame: Pipecat's ``broadcast_frame(frame_class)``: both directions.
    """

    def __init__(self, manual_turns: Callable[[], bool], broadcast_frame: Callable[..., Awaitable[None]]):
        self.manual_turns = manual_turns
        self.broadcast_frame = broadcast_frame
        self.caller_speaking = False

    @property
    def _active(self) -> bool:
        return not self.manual_turns()

    async def caller_started(self) -> None:
        """The server heard the caller (a new turn's transcription, or a barge-in)."""
        if self._active and not self.caller_speaking:
            self.caller_speaking = True
            await self.broadcast_frame(UserStartedSpeakingFrame)

    async def caller_stopped(self) -> None:
        """The server answered: the caller's turn is over."""
        if self._active and self.caller_speaking:
            self.caller_speaking = False
            await self.broadcast_frame(UserStoppedSpeakingFrame)
