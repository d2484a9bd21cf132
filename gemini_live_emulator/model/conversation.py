"""The emulated model's state of mind: instruction, history, and what it says next.

No language understanding: a reply is composed from what the session actually received, so a
test can read from it which instruction was active (the reply names the persona) and how much
of the conversation the session holds (the reply counts the earlier turns). Nothing here knows
about any test.
"""

from __future__ import annotations

import asyncio
import copy
import re
from dataclasses import dataclass, field

from loguru import logger

from . import phrases

AUDIO_TOKENS_PER_S = 32  # Gemini counts 32 tokens per second of audio
# With speech recognition off: sent as the caller starts speaking, the rest with the reply.
TRANSCRIPT_OPENING = "(caller speech,"
LISTEN_TIMEOUT_S = 1.0  # see UserTurn.listen (EmulatorConfig.listen_timeout_s)
LATE_WORDS_TIMEOUT_S = 60.0  # words later than this are given up (a recogniser that hung)
QUOTED_WORDS = 4  # the reply quotes at most this many of the words heard (a reply must fit between turns)
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
            speaking (:data:`TRANSCRIPT_OPENING`, recognition off); the rest goes out with the
            reply.
        heard: What the recogniser made of each utterance of the turn
            (:class:`~.asr.Heard`), once :meth:`listen` has run.
        hearing: Recognition results still to come (futures of :class:`~.asr.Heard`).
        late: Recognition results the reply stopped waiting for (:meth:`listen`'s bound):
            their words go out as input transcription when they come, unquoted.
        late_sent: Those of :attr:`late` whose words are already on their way (a turn
            answered again after a barge-in must not send them twice).
    """

    speech_s: float = 0.0
    texts: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    tool_results: list[str] = field(default_factory=list)
    checking: list[str] = field(default_factory=list)
    from_caller: bool = True
    tools_called: bool = False
    transcript_opened: bool = False
    heard: list = field(default_factory=list)
    hearing: list = field(default_factory=list)
    late: list = field(default_factory=list)
    late_sent: list = field(default_factory=list)

    async def listen(self, timeout_s: float = LISTEN_TIMEOUT_S) -> None:
        """Wait for the recogniser's results of this turn's utterances.

        Args:
            timeout_s: Longest wait for the whole turn's words, however many utterances it
                holds; past it (a machine too loaded to keep up) the turn goes on without the
                words still missing rather than hold the reply back (those results move to
                :attr:`late`). One deadline, not one per utterance: a turn of several
                utterances (a replay) would otherwise wait several times as long.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.hearing:
            future = self.hearing[0]
            try:
                # Shielded: a barge-in cancelling the reply must not cancel the recognition.
                heard = await asyncio.wait_for(asyncio.shield(future), max(deadline - loop.time(), 0.0))
            except asyncio.TimeoutError:
                # The words are not lost: they follow as transcription when they come.
                logger.warning(f"emulator: speech recognition took over {timeout_s} s; answering without the words")
                self.late.append(future)
                heard = None
            except asyncio.CancelledError:
                if not future.cancelled():
                    raise
                heard = None
            except Exception as e:  # the recogniser failed: the turn goes on without words
                logger.warning(f"emulator: speech recognition failed: {e!r}")
                heard = None
            self.hearing.pop(0)
            if heard is not None:
                self.heard.append(heard)

    def merge(self, other: "UserTurn", *, front: bool = False) -> None:
        """Take in ``other``'s content (an unanswered turn the caller continued)."""
        self.speech_s += other.speech_s
        for name in ("texts", "images", "tool_results", "heard", "hearing", "late", "late_sent"):
            mine, theirs = getattr(self, name), getattr(other, name)
            mine[0:0] = theirs if front else []
            if not front:
                mine.extend(theirs)
        self.checking += other.checking
        self.tools_called = self.tools_called or other.tools_called
        self.transcript_opened = self.transcript_opened or other.transcript_opened

    @property
    def recognised(self) -> bool:
        """The turn's speech went through the recogniser."""
        return bool(self.heard or self.hearing or self.late)

    def words(self) -> str:
        """The words recognised in the caller's speech ("" when none, or not recognised)."""
        return " ".join(h.text for h in self.heard if h.text)

    def spoken(self) -> str:
        """The caller's speech as text: the words heard, or with recognition off its length."""
        if self.recognised:
            return self.words()
        if self.speech_s > 0:
            return f"{TRANSCRIPT_OPENING} {self.speech_s:.1f} seconds)"
        return ""

    def transcript(self) -> str:
        """The turn as the model holds it in its history: speech, then typed text."""
        return " ".join(p for p in [self.spoken(), *self.texts] if p)

    def transcript_rest(self) -> str:
        """The input transcription still to send at the end of the turn.

        Typed text is never transcribed (the real service's recogniser only hears audio).
        With recognition on: the words not sent yet as interim pieces; off: the rest of the
        length placeholder whose opening went out when the caller began.
        """
        if self.recognised:
            out = ""
            for piece in (h.rest() for h in self.heard):
                if piece and out and not piece.startswith(" "):
                    out += " "
                out += piece
            return out
        full = self.spoken()
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


def _quote(words: str) -> str:
    split = words.split()
    return " ".join(split[:QUOTED_WORDS]) + (" ..." if len(split) > QUOTED_WORDS else "")


def _count(n: int) -> str:
    return _NUMBERS[n] if 0 <= n < len(_NUMBERS) else str(n)


@dataclass
class Conversation:
    """History and instruction of one emulated session (copied on resumption)."""

    system_instruction: str | None = None
    language_code: str | None = None
    history: list[HistoryTurn] = field(default_factory=list)
    replies: int = 0
    translate_to: str | None = None  # the target a per-turn translation cue set (:mod:`.interpreting`)

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
        words = _quote(turn.words())
        other = phrases.compose(
            lang.split("-")[0], self.persona, speech_s=turn.speech_s, words=words, recognised=turn.recognised,
            texts=turn.texts, images=turn.images, checking=turn.checking, tool_results=turn.tool_results,
            remembered=remembered,
        )
        if other is not None:
            return other
        if lang.startswith("ko"):
            parts = [f"{self.persona}.", "네, 잘 들었습니다."]
            if words:
                parts.append(f'"{words}" 라고 하셨습니다.')
            if turn.images:
                parts.append(f"이미지 {', '.join(turn.images)} 를 봤습니다.")
            if turn.tool_results:
                parts.append(f"도구 결과: {'; '.join(turn.tool_results)}.")
            parts.append(f"이전 대화 {remembered}개를 기억합니다.")
            return " ".join(parts)
        parts = [f"{self.persona}."]
        if turn.speech_s > 0:
            parts.append(f"I heard you for {turn.speech_s:.1f} seconds.")
            if words:
                parts.append(f'You said: "{words}".')
            elif turn.recognised and not turn.late:
                parts.append("I could not make out any words.")
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
