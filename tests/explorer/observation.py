"""What one explored call left behind, in call-clock seconds (see :mod:`.driver`), for the checks
in :mod:`.invariants`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ANSWER = "I heard you for"  # what the emulated model's answer to caller audio says
TOOL_SAID = "The tool said: "  # how it quotes a function's result it answers
RATE_BYTES = 2 * 16000  # the caller's audio on the wire: PCM16 mono at 16 kHz, bytes per second


@dataclass
class WireReply:
    """A reply the emulated model began (``at_s``: call clock, first seen on the wire)."""

    session: int
    index: int
    at_s: float
    text: str
    persona: str
    interrupted: bool = False
    audio_s: float = 0.0

    @property
    def is_answer(self) -> bool:
        return ANSWER in self.text

    @property
    def answers_a_function_result(self) -> bool:
        """The reply the model gives once a function's result is in: the answer to the caller
        turn that asked for the function (its audio never says "I heard you")."""
        return ("[Function " in self.text and " returned " in self.text) or TOOL_SAID in self.text

    @property
    def complete(self) -> bool:
        """Spoken to the end (not cut by a barge-in, nor by its connection closing)."""
        return not self.interrupted and self.audio_s > 0

    @property
    def heard_s(self) -> float:
        try:
            return float(self.text.split(ANSWER, 1)[1].split()[0])
        except (IndexError, ValueError):
            return 0.0


@dataclass
class HeardReply:
    """A reply the service played to the caller (its ``ReplyRecord``; ``at_s``: call clock)."""

    session: int | None
    at_s: float
    text: str = ""
    interrupted: bool = False
    goes_on: bool = False  # asked for to go on with a cut reply (ReplyRecord.goes_on)


@dataclass
class ToolCall:
    """A ``toolCall`` the emulated model made (``at_s``: call clock)."""

    session: int
    id: str
    name: str
    at_s: float


@dataclass
class Observation:
    """Everything one run left behind (see :mod:`.driver`). Times are call-clock seconds."""

    timeline: Any
    utterances: list[tuple[float, float]]
    personas: list[tuple[float, str]]  # (from when, persona label); the first at 0
    wire_replies: list[WireReply]
    tool_calls: list[ToolCall]
    records: list[Any]  # gemini_live_emulator SessionRecord
    end_s: float
    hangup_s: float | None = None
    errors: list[tuple[float, str, bool]] = field(default_factory=list)  # (at, text, call-ending)
    timed_out: bool = False
    open_after_wait: list[int] = field(default_factory=list)
    leftover_tasks: list[str] = field(default_factory=list)
    leftover_tasks_at_end: list[str] = field(default_factory=list)
    pushed_s: float = 0.0
    received_s: float = 0.0
    replayed_s: float = 0.0
    dropped_frames: int = 0
    held_at_end: int = 0
    max_held_s: float = 10.0
    # When each connection took caller audio (call time, first audio message to its close);
    # between them the call held the audio (:func:`~.reading.longest_outage`).
    audio_windows: list[tuple[float, float]] = field(default_factory=list)
    # When each connection took its first caller audio, call time, by record index.
    audio_from: dict[int, float] = field(default_factory=dict)
    report_turns: list[dict] = field(default_factory=list)
    heard: list[HeardReply] = field(default_factory=list)
    switches: list[Any] = field(default_factory=list)
    speed: float = 1.0
    max_loop_lag_s: float = 0.0  # the longest the call's event loop woke late, wall seconds
