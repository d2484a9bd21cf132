"""The emulated model's state of mind: instruction, history, and what it says next.

No language understanding: a reply is composed from what the session actually received, so a
test can read from it which instruction was active (the reply names the persona) and how much
of the conversation the session holds (the reply counts the earlier turns). Nothing here knows
about any test.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

AUDIO_TOKENS_PER_S = 32  # Gemini counts 32 tokens per second of audio
# Sent as the caller starts speaking, like the real service's streaming input transcription.
TRANSCRIPT_OPENING = "(caller speech,"
CHARS_PER_TEXT_TOKEN = 4


@dataclass
class HistoryTurn:
    """One turn the model holds: ``role`` is ``"user"`` or ``"model"``."""

    role: str
    text: str
    audio_s: float = 0.0


@dataclass
class UserTurn:
    """What the caller gave in one turn, as the reply describes it.

    Attributes:
        speech_s: Seconds of caller speech (0 for a typed turn).
        texts: Typed text (``realtimeInput.text`` or ``clientContent``).
        images: Sizes of images received since the last reply, ``"WxH"``.
        tool_results: Summaries of tool results the reply should acknowledge.
        checking: Functions called without blocking; the reply says it is on them.
        from_caller: False for a turn the model takes on its own (a tool result arriving).
        tools_called: The scripted calls for this turn were made (a re-answered turn does not
            call again).
        transcript_opened: The start of the transcription went out when the caller began
            speaking (:data:`TRANSCRIPT_OPENING`); the rest goes out with the reply.
    """

    speech_s: float = 0.0
    texts: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    tool_results: list[str] = field(default_factory=list)
    checking: list[str] = field(default_factory=list)
    from_caller: bool = True
    tools_called: bool = False
    transcript_opened: bool = False

    def transcript(self) -> str:
        """The input transcription the emulator reports for this turn.

        There is no speech recogniser: audio turns are described by their length.
        """
        pieces = list(self.texts)
        if self.speech_s > 0:
            pieces.insert(0, f"{TRANSCRIPT_OPENING} {self.speech_s:.1f} seconds)")
        return " ".join(pieces)

    def transcript_rest(self) -> str:
        """What is left to send of the transcription once its opening went out."""
        full = self.transcript()
        if self.transcript_opened and full.startswith(TRANSCRIPT_OPENING):
            return full[len(TRANSCRIPT_OPENING) :]
        return full


def persona_label(system_instruction: str | None, max_words: int = 10) -> str:
    """The persona as the reply names it: the instruction's first sentence, trimmed."""
    if not system_instruction or not system_instruction.strip():
        return "the default assistant"
    first = re.split(r"(?<=[.!?])\s", system_instruction.strip(), maxsplit=1)[0]
    words = first.rstrip(".!?").split()
    return " ".join(words[:max_words])


_NUMBERS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _count(n: int) -> str:
    return _NUMBERS[n] if 0 <= n < len(_NUMBERS) else str(n)


@dataclass
class Conversation:
    """History and instruction of one emulated session (copied on resumption)."""

    system_instruction: str | None = None
    language_code: str | None = None
    history: list[HistoryTurn] = field(default_factory=list)
    replies: int = 0

    def snapshot(self) -> "Conversation":
        """A deep copy, stored behind a resumption handle."""
        return copy.deepcopy(self)

    @property
    def persona(self) -> str:
        """The label replies use for the active instruction."""
        return persona_label(self.system_instruction)

    def compose_reply(self, turn: UserTurn) -> str:
        """The reply to ``turn``: names the persona and the number of earlier turns held."""
        remembered = len(self.history)
        self.replies += 1
        lang = (self.language_code or "en").lower()
        if lang.startswith("ko"):
            parts = [f"{self.persona}.", "네, 잘 들었습니다."]
            if turn.images:
                parts.append(f"이미지 {', '.join(turn.images)} 를 봤습니다.")
            if turn.tool_results:
                parts.append(f"도구 결과: {'; '.join(turn.tool_results)}.")
            parts.append(f"이전 대화 {remembered}개를 기억합니다.")
            return " ".join(parts)
        parts = [f"{self.persona}."]
        if turn.speech_s > 0:
            parts.append(f"I heard you for {turn.speech_s:.1f} seconds.")
        for text in turn.texts:
            parts.append(f'You wrote: "{text[:80]}".')
        if turn.images:
            parts.append(f"I see an image {', '.join(turn.images)}.")
        if turn.checking:
            parts.append(f"Let me check {' and '.join(turn.checking)} for you.")
        if turn.tool_results:
            parts.append(f"The tool said: {'; '.join(turn.tool_results)}.")
        parts.append(f"I remember {_count(remembered)} earlier turn{'s' if remembered != 1 else ''}.")
        return " ".join(parts)

    def record(self, turn: UserTurn, reply_spoken: str, reply_audio_s: float) -> None:
        """Append a finished exchange (the reply as far as it was spoken)."""
        if turn.from_caller:
            self.history.append(HistoryTurn("user", turn.transcript(), turn.speech_s))
        if reply_spoken:
            self.history.append(HistoryTurn("model", reply_spoken, reply_audio_s))

    def prompt_tokens(self) -> tuple[int, int]:
        """``(audio, text)`` tokens of the prompt: instruction plus history."""
        audio = int(sum(t.audio_s for t in self.history if t.role == "user") * AUDIO_TOKENS_PER_S)
        text_chars = len(self.system_instruction or "") + sum(
            len(t.text) for t in self.history if not t.audio_s
        )
        return audio, text_chars // CHARS_PER_TEXT_TOKEN
