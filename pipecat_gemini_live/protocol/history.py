"""What was said on the call, and how it is re-seeded into a new session.

The service records the conversation from the server's own transcripts (input transcription
for the caller, output transcription for the bot) plus tool calls and their results, so a new
session (persona switch, reconnect without a resumption handle) can be given the call so far.

Seeds are text turns only: the Live API refuses function-call parts in ``clientContent``
(close 1007), so calls and results are written as text, the same convention Pipecat's Gemini
Live adapter uses. A profile may require the seed to end with a user turn (2.5 native audio).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.genai.types import Content, Part
from loguru import logger

from .profiles import ModelProfile

CONTINUE_MARKER = "(The call continues.)"


@dataclass
class HistoryEntry:
    """One turn: ``role`` is ``"user"`` or ``"model"``; ``kind`` says where it came from."""

    role: str
    text: str
    kind: str = "speech"


class ConversationHistory:
    """The call's conversation, in order.

    Args:
        max_seed_chars: Most text a seed carries (oldest turns are left out first), to keep the
            seed far below the 1 MiB message limit and the 128k-token context.
    """

    def __init__(self, max_seed_chars: int = 60_000):
        self.max_seed_chars = max_seed_chars
        self.entries: list[HistoryEntry] = []
        self._model_pieces: list[str] = []
        self._listeners: list[Callable[[HistoryEntry], None]] = []
        self._taken_up_after: int | None = None

    def add_listener(self, listener: Callable[[HistoryEntry], None]) -> None:
        """Call ``listener(entry)`` for every whole turn recorded from now on, as it is recorded
        (a store that keeps the call as it goes). ``replace`` is not reported. A listener must not
        block; one that raises is logged and the call goes on."""
        self._listeners.append(listener)

    def _record(self, entry: HistoryEntry) -> None:
        self.entries.append(entry)
        for listener in self._listeners:
            try:
                listener(entry)
            except Exception:
                logger.exception(f"history listener {listener!r} failed")

    def __len__(self) -> int:
        return len(self.entries)

    def may_take_up_cut_reply(self) -> bool:
        """Whether a reply its connection's close cut may be taken up on the next session.

        Once per stretch of the conversation: a reply that was itself the taking-up of a cut one
        (nothing from the caller or a tool since) is not taken up again. Otherwise a server that
        closes every connection mid-reply (goAways closer together than a reply is long) has the
        bot go on talking to itself, session after session, after the caller has stopped.
        """
        said = sum(1 for e in self.entries if e.role == "user")
        if said == self._taken_up_after:
            return False
        self._taken_up_after = said
        return True

    def add_user(self, text: str, kind: str = "speech") -> None:
        """Record a caller turn (a transcript, typed text, or a tool result)."""
        text = text.strip()
        if text:
            self._record(HistoryEntry("user", text, kind))

    def add_model(self, text: str, kind: str = "speech") -> None:
        """Record a whole bot turn."""
        text = text.strip()
        if text:
            self._record(HistoryEntry("model", text, kind))

    def add_turn(self, role: str, text: str, kind: str) -> None:
        """Record a whole turn of ``role`` (``"user"`` or ``"model"``)."""
        (self.add_user if role == "user" else self.add_model)(text, kind=kind)

    def replace(self, turns: list[tuple[str, str]], kind: str = "context") -> None:
        """Make ``turns`` (``(role, text)``, role ``"user"`` or ``"model"``) the whole history
        (the application rewrote the conversation)."""
        self._model_pieces = []
        self.entries = [HistoryEntry(role, text.strip(), kind) for role, text in turns if text.strip()]

    def model_piece(self, text: str) -> None:
        """Accumulate the bot's output transcription as it streams."""
        self._model_pieces.append(text)

    def end_model_turn(self) -> None:
        """Commit the streamed bot turn (a cut reply keeps what was said)."""
        if self._model_pieces:
            self.add_model("".join(self._model_pieces))
            self._model_pieces = []

    def add_tool_call(self, name: str, args: Any) -> None:
        """Record a function call the model made."""
        self.add_model(f"[Called function {name} with args {_compact(args)}]", kind="tool_call")

    def add_tool_result(self, name: str, result: Any) -> None:
        """Record a function result the model was given."""
        self.add_user(f"[Function {name} returned {_compact(result)}]", kind="tool_result")

    def seed(self, profile: ModelProfile, *, end_with_user: bool = False) -> list[Content]:
        """The conversation as text turns a new session of ``profile`` accepts.

        Consecutive turns of one role are merged; the oldest turns are left out beyond
        ``max_seed_chars``; a user turn is appended when the profile needs the seed to end with
        one, or when ``end_with_user`` asks for it (the model is to speak next).
        """
        self.end_model_turn()
        merged: list[HistoryEntry] = []
        for entry in self.entries:
            if entry.kind == "opening":
                continue  # a cue that opened the call, not something the caller said
            if merged and merged[-1].role == entry.role:
                merged[-1] = HistoryEntry(entry.role, merged[-1].text + "\n" + entry.text, "merged")
            else:
                merged.append(entry)
        kept: list[HistoryEntry] = []
        total = 0
        for entry in reversed(merged):
            total += len(entry.text)
            if total > self.max_seed_chars and kept:
                break
            kept.append(entry)
        kept.reverse()
        if (profile.seed_must_end_with_user or end_with_user) and kept and kept[-1].role != "user":
            kept.append(HistoryEntry("user", CONTINUE_MARKER, "marker"))
        return [Content(role=e.role, parts=[Part(text=e.text)]) for e in kept]


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        return str(value)
