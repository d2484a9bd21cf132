"""Typed and appended content for the Live session, in the form the model profile accepts.

``InputTextRawFrame`` goes in as ``realtimeInput.text`` (every model takes it, interleaved
with audio). The application's messages (``LLMMessagesAppendFrame``, and what it adds to the
pipeline's context: see :mod:`.context_sync`) go in as ``clientContent`` turns where the
profile takes ``clientContent`` at that point of the session; otherwise (3.1 once realtime
input has started: a late ``clientContent`` is closed with 1007) a user turn that asks for an
answer goes in as realtime text, and what cannot go in now (a model turn, a user turn that must
not be answered) is kept in the history, so the next session's seed carries it, with a warning.
Notes (a tool result for a call made by a session the call has left) go the same way. Content
that arrives while no session can take it waits for the next one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.genai.types import Content, Part
from loguru import logger
from pipecat.frames.frames import LLMMessagesAppendFrame

from ..protocol.context_messages import Turn, message_turn
from ..protocol.history import CONTINUE_MARKER
from ..protocol.profiles import HistorySeeding

if TYPE_CHECKING:
    from ..service import GeminiLiveLLMService


class ContentInput:
    """Text, appended messages and notes for one service."""

    def __init__(self, service: "GeminiLiveLLMService"):
        self.svc = service
        self.notes: list[str] = []
        self.pending: list[tuple[list[Turn], bool, str]] = []

    def _can_send(self) -> bool:
        s = self.svc.session
        return s is not None and s.ready and not self.svc.handover.holding

    async def text(self, text: str) -> None:
        """``InputTextRawFrame``: a user turn as realtime text."""
        if not text:
            return
        self.svc.history.add_user(text, kind="text")
        if not self._can_send():
            self.notes.append(text)
            return
        try:
            await self.svc.session.send_text(text)
            self.svc.guard.reply_owed()
        except Exception as e:
            await self.svc.push_error(f"sending text to the Live session failed: {e}", exception=e)

    async def note(self, text: str) -> None:
        """Give the model a user-side note it should answer; kept while no session can take it."""
        svc = self.svc
        if not self._can_send():
            self.notes.append(text)
            return
        try:
            if svc.profile.mid_session_client_content:
                await svc.session.send_client_content([Content(role="user", parts=[Part(text=text)])], turn_complete=True)
            else:
                await svc.session.send_text(text)
            svc.guard.reply_owed()
        except Exception as e:
            logger.warning(f"{svc}: note not sent ({e}); kept for the next session")
            self.notes.append(text)

    async def flush(self) -> None:
        """Deliver what waited for a session."""
        notes, self.notes = self.notes, []
        for note in notes:
            await self.note(note)
        pending, self.pending = self.pending, []
        for turns, respond, kind in pending:
            await self.deliver(turns, respond=respond, kind=kind)

    async def messages_append(self, frame: LLMMessagesAppendFrame) -> None:
        """``LLMMessagesAppendFrame`` reaching the service itself (a pipeline without
        aggregators): its user / developer / assistant messages, answered unless ``run_llm``
        is False."""
        turns = [t for t in (message_turn(m) for m in frame.messages) if t is not None]
        if not turns:
            logger.warning(f"{self.svc}: LLMMessagesAppendFrame carried no text message; nothing sent")
            return
        await self.deliver(turns, respond=frame.run_llm is not False, kind="text")

    async def deliver(self, turns: list[Turn], *, respond: bool, kind: str = "app") -> None:
        """Give the session the application's turns; the model answers when ``respond`` and
        the last turn is the user's. Kept for the next session while none can take them."""
        if not turns:
            return
        if not self._can_send():
            self.pending.append((turns, respond, kind))
            return
        svc = self.svc
        session = svc.session
        profile = svc.profile
        respond = respond and turns[-1].role == "user"
        in_session = profile.mid_session_client_content or (
            profile.history_seeding is HistorySeeding.INITIAL_HISTORY and not session.realtime_input_sent
        )
        # What a 3.x model will answer: a realtime user turn (it waits for realtime input).
        answer_as_text = respond and not profile.mid_session_client_content
        content_turns = turns[:-1] if answer_as_text else turns
        if content_turns and content_turns[-1].role != "user" and profile.seed_must_end_with_user:
            # This model refuses clientContent that ends with a model turn (1007); the same
            # marker a seed ends with keeps it a user turn, unanswered.
            content_turns = [*content_turns, Turn("user", CONTINUE_MARKER)]
        kept: list[Turn] = []
        try:
            if content_turns and in_session:
                await session.send_client_content(
                    [Content(role=t.role, parts=[Part(text=t.text)]) for t in content_turns],
                    turn_complete=respond and not answer_as_text,
                )
            else:
                kept = content_turns
            if answer_as_text:
                await session.send_text(turns[-1].text)
            if respond:
                svc.guard.reply_owed()
        except Exception as e:
            await svc.push_error(f"messages not sent to the Live session: {e}", exception=e)
            return
        for t in turns:
            svc.history.add_turn(t.role, t.text, kind=kind)
        if kept:
            svc.warn_once(
                f"kept-{kind}",
                f"{profile.name} takes no clientContent once the call has started; "
                f"{len(kept)} message(s) ({kind}) kept in the history for the next session's seed",
            )
