"""What in the pipeline's ``LLMContext`` is news to the Live session (pure, no I/O).

Pipecat's aggregators keep an ``LLMContext`` beside the service and send it again and again
(after every turn, on ``LLMRunFrame``, on an append). Most of what it holds the session already
has, because the aggregators wrote it from what the service itself reported: the caller's
transcripts, the bot's words, function calls and results. What the session does not have is
what the application put there: a ``developer`` message asking the bot to speak first, an
appended ``user`` or ``assistant`` message, history edited in code (a summary replacing old
turns).

:class:`ContextTracker` tells them apart: it remembers the messages it has accounted for (by
identity: the aggregators append, they do not copy), the transcripts the service pushed
upstream, and the replies it spoke, and reports for each new context either the messages that
are the application's, or that the history was rewritten.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pipecat.processors.aggregators.llm_context import LLMSpecificMessage, standard_message_text

_SPACES = re.compile(r"\s+")

# Roles an application uses for content the model should take as coming from the caller's side.
USER_SIDE_ROLES = ("user", "developer", "system")


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


@dataclass
class Turn:
    """One piece of conversation for the session: ``role`` is ``"user"`` or ``"model"``."""

    role: str
    text: str


@dataclass
class ContextChange:
    """What one context frame brings.

    Attributes:
        system: The leading ``system`` message's text, if the context has one.
        turns: The application's messages the session has not seen, in order, as turns.
        rewritten: The messages seen before are no longer the context's first messages (the
            application replaced or edited the history); ``turns`` is then the whole
            conversation.
        ends_with_app_user_turn: The last new message is the application's and on the user
            side (it asks for an answer), not an echo of the call.
    """

    system: str | None = None
    turns: list[Turn] = field(default_factory=list)
    rewritten: bool = False
    ends_with_app_user_turn: bool = False


def split_system(messages: list) -> tuple[str | None, list]:
    """``(text of a leading "system" message, the rest)``.

    Only ``system`` is the instruction, as in Pipecat's adapters: a ``developer`` message is
    conversation (Pipecat's examples open a call with one: "Please introduce yourself").
    """
    if messages and isinstance(messages[0], dict) and messages[0].get("role") == "system":
        content = messages[0].get("content")
        if isinstance(content, str):
            return content, messages[1:]
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, dict)), messages[1:]
    return None, messages


def message_turn(message: Any) -> Turn | None:
    """A plain text message as a turn; None for tool calls, tool results and provider payloads."""
    if isinstance(message, LLMSpecificMessage) or not isinstance(message, dict):
        return None
    role = message.get("role")
    if message.get("tool_calls") or role == "tool":
        return None
    text = standard_message_text(message) if isinstance(message.get("content"), (str, list)) else ""
    text = (text or "").strip()
    if not text:
        return None
    if role == "assistant":
        return Turn("model", text)
    if role in USER_SIDE_ROLES:
        return Turn("user", text)
    return None


class ContextTracker:
    """Follows the pipeline's context for one call (see the module docstring)."""

    def __init__(self) -> None:
        self._seen: list[Any] = []
        self._transcripts: deque[str] = deque(maxlen=64)
        self._replies: deque[str] = deque(maxlen=64)

    def pushed_transcript(self, text: str) -> None:
        """The service pushed the caller's transcript upstream (the user aggregator keeps it)."""
        if text.strip():
            self._transcripts.append(_norm(text))

    def spoke(self, text: str) -> None:
        """A reply (complete or cut) went downstream (the assistant aggregator keeps it)."""
        if text.strip():
            self._replies.append(_norm(text))

    def _echo(self, message: Any, turn: Turn) -> bool:
        text = _norm(turn.text)
        if turn.role == "user" and message.get("role") == "user":
            # The user aggregator joins the transcripts of one turn into one message.
            rest, used = text, []
            for transcript in self._transcripts:
                if rest.startswith(transcript):
                    rest = rest[len(transcript) :].strip()
                    used.append(transcript)
                    if not rest:
                        break
            if used and not rest:
                for transcript in used:
                    self._transcripts.remove(transcript)
                return True
        if turn.role == "model":
            for reply in self._replies:
                if reply == text or reply.startswith(text) or text.startswith(reply):
                    self._replies.remove(reply)
                    return True
        return False

    def update(self, messages: list) -> ContextChange:
        """Account for the context's messages now; returns what is news.

        Args:
            messages: ``LLMContext.get_messages()``.
        """
        system, _ = split_system(messages)
        seen = self._seen
        rewritten = len(messages) < len(seen) or any(a is not b for a, b in zip(messages, seen))
        first = not seen
        fresh = messages if rewritten else messages[len(seen) :]
        self._seen = list(messages)
        change = ContextChange(system=system, rewritten=rewritten and not first)
        if rewritten or first:
            fresh = split_system(fresh)[1]  # the instruction is not a turn
        last_is_app_user = False
        for message in fresh:
            turn = message_turn(message)
            if turn is None:
                last_is_app_user = False
                continue
            if not change.rewritten and self._echo(message, turn):
                last_is_app_user = False
                continue
            change.turns.append(turn)
            last_is_app_user = turn.role == "user"
        change.ends_with_app_user_turn = last_is_app_user
        return change
