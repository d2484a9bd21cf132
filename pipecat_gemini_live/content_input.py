"""Typed and appended content for the Live session, in the form the model profile accepts.

``InputTextRawFrame`` goes in as ``realtimeInput.text`` (every model takes it, interleaved
with audio). Appended messages (``LLMMessagesAppendFrame``) go in as ``clientContent`` turns
where the profile takes ``clientContent`` mid-call, as realtime text where it does not (3.1
closes a late ``clientContent`` with 1007). Notes (a tool result for a call made by a session
the call has left) go the same way. Content that arrives while no session can take it waits
for the next one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.genai.types import Content, Part
from loguru import logger
from pipecat.frames.frames import LLMMessagesAppendFrame
from pipecat.processors.aggregators.llm_context import standard_message_text

if TYPE_CHECKING:
    from .service import GeminiLiveLLMService


class ContentInput:
    """Text, appended messages and notes for one service."""

    def __init__(self, service: "GeminiLiveLLMService"):
        self.svc = service
        self.notes: list[str] = []

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

    async def messages_append(self, frame: LLMMessagesAppendFrame) -> None:
        """Appended user / assistant messages, answered unless ``run_llm`` is False."""
        svc = self.svc
        texts = [
            (m.get("role"), standard_message_text(m))
            for m in frame.messages
            if isinstance(m, dict) and m.get("role") in ("user", "assistant")
        ]
        texts = [(role, text) for role, text in texts if text]
        if not texts:
            return
        respond = frame.run_llm is not False
        for role, text in texts:
            if role == "assistant":
                svc.history.add_model(text, kind="text")
            else:
                svc.history.add_user(text, kind="text")
        if not self._can_send():
            if respond:
                self.notes.extend(text for role, text in texts if role == "user")
            return
        try:
            if svc.profile.mid_session_client_content:
                turns = [
                    Content(role="model" if role == "assistant" else "user", parts=[Part(text=text)])
                    for role, text in texts
                ]
                if respond and turns[-1].role != "user":
                    respond = False  # the model only answers a user turn
                await svc.session.send_client_content(turns, turn_complete=respond)
            else:
                # Realtime text is the only way in mid-call; every piece of it is a user turn.
                for role, text in texts:
                    if role == "user":
                        await svc.session.send_text(text)
            if respond:
                svc.guard.reply_owed()
        except Exception as e:
            await svc.push_error(f"appended messages not sent to the Live session: {e}", exception=e)
