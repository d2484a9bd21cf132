"""Server messages -> events, with no I/O (the sans-I/O half of the service).

:class:`ResponseTranslator` turns each ``LiveServerMessage`` into a list of small events that
say what happened (the bot started a reply, a chunk of audio, the caller barged in, a tool
call...). The service maps events to Pipecat frames and calls; this module only tracks the
state needed to know which events a message means: whether a reply is in progress, and the
caller's transcript for the current turn.

Fields of one ``serverContent`` are not exclusive (3.x bundles content with ``turnComplete``),
so content is handled before the turn closes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from google.genai.types import LiveServerMessage
from ..audio.rates import LIVE_OUTPUT_RATE

DEFAULT_OUTPUT_RATE = LIVE_OUTPUT_RATE


@dataclass
class BotStarted:
    """The first output of a reply: push ``TTSStartedFrame`` / ``LLMFullResponseStartFrame``."""


@dataclass
class BotAudio:
    """A chunk of reply audio, PCM16 mono at ``sample_rate`` Hz."""

    audio: bytes
    sample_rate: int


@dataclass
class BotTranscript:
    """Output transcription: the words of the reply audio, as they come."""

    text: str


@dataclass
class BotText:
    """A text part (TEXT modality); ``thought`` for a thinking part."""

    text: str
    thought: bool = False


@dataclass
class CallerTranscript:
    """Input transcription of the caller's turn, pushed once the turn is over."""

    text: str


@dataclass
class CallerSpeaking:
    """The first input-transcription piece of a caller turn: the server hears speech."""


@dataclass
class Interrupted:
    """The caller barged in; ``was_responding`` says whether a reply was in progress."""

    was_responding: bool


@dataclass
class GenerationDone:
    """``generationComplete``: the model has produced its whole reply."""


@dataclass
class BotStopped:
    """The reply is over (``turnComplete``); ``interrupted`` when it was cut by a barge-in."""

    interrupted: bool = False


@dataclass
class TurnComplete:
    """``turnComplete``, whether or not a reply was in progress."""


@dataclass
class Usage:
    """``usageMetadata`` (a ``google.genai.types.UsageMetadata``)."""

    metadata: Any


@dataclass
class ToolCalls:
    """``toolCall``: ``calls`` is a list of ``FunctionCall`` (id, name, args)."""

    calls: list[Any]


@dataclass
class ToolCallCancellation:
    """``toolCallCancellation``: the model no longer wants these calls."""

    ids: list[str]


@dataclass
class GoAway:
    """``goAway``: the connection ends in ``time_left_s`` seconds."""

    time_left_s: float


@dataclass
class ResumptionUpdate:
    """``sessionResumptionUpdate``."""

    handle: str | None
    resumable: bool


Event = (
    BotStarted
    | BotAudio
    | BotTranscript
    | BotText
    | CallerTranscript
    | CallerSpeaking
    | Interrupted
    | GenerationDone
    | BotStopped
    | TurnComplete
    | Usage
    | ToolCalls
    | ToolCallCancellation
    | GoAway
    | ResumptionUpdate
)

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*s\s*$")
_RATE = re.compile(r"rate\s*=\s*(\d+)")


def parse_duration(value: Any) -> float:
    """A protobuf Duration (``"50s"``, ``"1.5s"``, or a timedelta / number) in seconds."""
    if value is None:
        return 0.0
    if hasattr(value, "total_seconds"):
        return float(value.total_seconds())
    if isinstance(value, (int, float)):
        return float(value)
    m = _DURATION.match(str(value))
    return float(m.group(1)) if m else 0.0


def audio_rate(mime_type: str | None) -> int:
    """Sample rate from ``audio/pcm;rate=N``; 24 kHz (the Live API's output rate) if absent."""
    m = _RATE.search(mime_type or "")
    return int(m.group(1)) if m else DEFAULT_OUTPUT_RATE


@dataclass
class ResponseTranslator:
    """Turns server messages into events, tracking reply and caller-turn state.

    Attributes:
        responding: A reply has started and not yet completed or been interrupted.
    """

    responding: bool = False
    _caller_text: list[str] = field(default_factory=list)

    def reset(self) -> list[Event]:
        """Forget the reply in progress (a session switch cut it); returns the closing events."""
        events: list[Event] = self._flush_caller()
        if self.responding:
            self.responding = False
            events.append(BotStopped(interrupted=True))
        return events

    def _flush_caller(self) -> list[Event]:
        if not self._caller_text:
            return []
        text = "".join(self._caller_text).strip()
        self._caller_text = []
        return [CallerTranscript(text)] if text else []

    def _start(self, events: list[Event]) -> None:
        if not self.responding:
            self.responding = True
            events.extend(self._flush_caller())
            events.append(BotStarted())

    def translate(self, msg: LiveServerMessage) -> list[Event]:
        """The events one server message means, in the order to act on them."""
        events: list[Event] = []
        sc = msg.server_content
        if sc is not None:
            if sc.interrupted:
                events.append(Interrupted(was_responding=self.responding))
                if self.responding:
                    self.responding = False
                    events.append(BotStopped(interrupted=True))
            if sc.input_transcription and sc.input_transcription.text:
                if not self._caller_text:
                    events.append(CallerSpeaking())
                self._caller_text.append(sc.input_transcription.text)
            if sc.model_turn and sc.model_turn.parts:
                for part in sc.model_turn.parts:
                    blob = part.inline_data
                    if blob is not None and blob.data and (blob.mime_type or "").startswith("audio/"):
                        self._start(events)
                        events.append(BotAudio(blob.data, audio_rate(blob.mime_type)))
                    elif part.text:
                        self._start(events)
                        events.append(BotText(part.text, thought=bool(part.thought)))
            if sc.output_transcription and sc.output_transcription.text:
                self._start(events)
                events.append(BotTranscript(sc.output_transcription.text))
            if sc.generation_complete:
                events.append(GenerationDone())
            if sc.turn_complete:
                events.extend(self._flush_caller())
                if self.responding:
                    self.responding = False
                    events.append(BotStopped())
                events.append(TurnComplete())
        if msg.usage_metadata is not None:
            events.append(Usage(msg.usage_metadata))
        if msg.tool_call is not None and msg.tool_call.function_calls:
            events.extend(self._flush_caller())
            events.append(ToolCalls(list(msg.tool_call.function_calls)))
        if msg.tool_call_cancellation is not None:
            events.append(ToolCallCancellation(list(msg.tool_call_cancellation.ids or [])))
        if msg.go_away is not None:
            events.append(GoAway(parse_duration(msg.go_away.time_left)))
        if msg.session_resumption_update is not None:
            update = msg.session_resumption_update
            events.append(ResumptionUpdate(update.new_handle, bool(update.resumable)))
        return events
