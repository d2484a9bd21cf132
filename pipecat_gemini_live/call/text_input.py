"""Typed and appended content for the Live session, in the form the model profile accepts.

``InputTextRawFrame`` goes in as ``realtimeInput.text`` (every model takes it, interleaved
with audio). The application's messages (``LLMMessagesAppendFrame``, and what it adds to the
pipeline's context: see :mod:`..protocol.context_messages`) go in as ``clientContent`` turns where the
profile takes ``clientContent`` at that point of the session; otherwise (3.1 once realtime
input has started: a late ``clientContent`` is closed with 1007) a user turn that asks for an
answer goes in as realtime text, and what cannot go in now (a model turn, a user turn that must
not be answered) is kept in the history, so the next session's seed carries it, with a warning.
Notes (a tool result for a call made by a session the call has left) go the same way. Content
that arrives while no session can take it waits for the next one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.frames.frames import LLMMessagesAppendFrame

from ..protocol.context_messages import Turn, message_turn
from ..protocol.history import ConversationHistory
from ..protocol.outbound import TurnsDelivery, deliver_turns, note_delivery
from ..protocol.profiles import ModelProfile
from .connection import LiveSession
from .link import CallHooks, SessionLink


class TextInput:
    """Text, appended messages and notes for one call.

    Args:
        link: The seam to the session (what cannot go now waits in its outbox).
        hooks: Error reporting and one-time warnings of the hosting processor.
        history: The call's conversation record.
        profile: The profile of the call's current model.
        reply_owed: Tells the watchdog the model owes an answer from now.
    """

    def __init__(
        self,
        link: SessionLink,
        hooks: CallHooks,
        history: ConversationHistory,
        profile: Callable[[], ModelProfile],
        reply_owed: Callable[[], None],
    ):
        self.link = link
        self.hooks = hooks
        self.history = history
        self.profile = profile
        self.reply_owed = reply_owed

    async def text(self, text: str) -> None:
        """``InputTextRawFrame``: a user turn as realtime text (a note while no session can take it)."""
        if not text:
            return
        if not self.link.accepting():
            # Into the history only when it is sent: a move seeds its new session from the
            # history and then delivers what waited, and the text must reach it once.
            self.link.defer("text", text, lambda: self.text(text))
            return
        self.history.add_user(text, kind="text")
        # Owed before the send: a move that starts while it is in flight must know.
        self.reply_owed()
        try:
            await self.link.session.send_text(text)
        except Exception as e:
            await self.hooks.push_error(f"sending text to the Live session failed: {e}", exception=e)
            return
        self._keep("text", text, lambda session: session.send_text(text), owes_reply=True)

    def _keep(self, kind: str, payload, send_to: Callable[[LiveSession], Awaitable[None]], *, owes_reply: bool) -> None:
        """Keep what was just sent until the session's next checkpoint (a resume from an older
        handle loses it): sent again, as it was, to the session then current."""
        self.link.sent(kind, payload, lambda: self._again(kind, payload, send_to, owes_reply=owes_reply))

    async def _again(self, kind: str, payload, send_to, *, owes_reply: bool) -> None:
        """Send again what a resume lost (already in the history: not added twice)."""
        if not self.link.accepting():
            self.link.defer(kind, payload, lambda: self._again(kind, payload, send_to, owes_reply=owes_reply))
            return
        session = self.link.session
        if owes_reply:
            self.reply_owed()
        try:
            await send_to(session)
        except Exception as e:
            logger.warning(f"{session}: {kind} not sent again after a resume ({e})")
            return
        logger.debug(f"{session}: {kind} sent again (the resumed handle predates it)")
        self._keep(kind, payload, send_to, owes_reply=owes_reply)

    def _defer_note(self, text: str) -> None:
        self.link.defer("note", text, lambda: self.note(text))

    async def note(self, text: str) -> None:
        """Give the model a user-side note it should answer; kept while no session can take it."""
        if not self.link.accepting():
            self._defer_note(text)
            return
        session = self.link.session
        self.reply_owed()
        delivery = note_delivery(self.profile(), text)
        try:
            await _send(session, delivery)
        except Exception as e:
            logger.warning(f"{session}: note not sent ({e}); kept for the next session")
            self._defer_note(text)
            return
        self._keep("note", text, lambda s: _send(s, delivery), owes_reply=True)

    async def messages_append(self, frame: LLMMessagesAppendFrame) -> None:
        """``LLMMessagesAppendFrame`` reaching the service itself (a pipeline without
        aggregators): its user / developer / assistant messages, answered unless ``run_llm``
        is False."""
        turns = [t for t in (message_turn(m) for m in frame.messages) if t is not None]
        if not turns:
            logger.warning(f"{self.link.session}: LLMMessagesAppendFrame carried no text message; nothing sent")
            return
        await self.deliver(turns, respond=frame.run_llm is not False, kind="text")

    async def deliver(self, turns: list[Turn], *, respond: bool, kind: str = "app") -> None:
        """Give the session the application's turns; the model answers when ``respond`` and
        the last turn is the user's. Kept for the next session while none can take them."""
        if not turns:
            return
        if not self.link.accepting():
            self.link.defer("turns", turns, lambda: self.deliver(turns, respond=respond, kind=kind))
            return
        session = self.link.session
        profile = self.profile()
        delivery = deliver_turns(profile, turns, respond=respond, realtime_input_sent=session.realtime_input_sent)
        # In the history and owed before the send: a move that seeds its new session while the
        # send is in flight must carry the turns and know they want an answer.
        for t in turns:
            self.history.add_turn(t.role, t.text, kind=kind)
        if delivery.owes_reply:
            self.reply_owed()
        try:
            await _send(session, delivery)
        except Exception as e:
            await self.hooks.push_error(f"messages not sent to the Live session: {e}", exception=e)
            return
        # Sent again in the form the session then takes (3.1 refuses clientContent once it
        # has had realtime input, and a resume replays audio first).
        self._keep(
            "turns", turns,
            lambda s: _send(s, deliver_turns(self.profile(), turns, respond=respond, realtime_input_sent=s.realtime_input_sent)),
            owes_reply=delivery.owes_reply,
        )  # fmt: skip
        if delivery.kept:
            self.hooks.warn_once(
                f"kept-{kind}",
                f"{profile.name} takes no clientContent once the call has started; "
                f"{len(delivery.kept)} message(s) ({kind}) kept in the history for the next session's seed",
            )


async def _send(session: LiveSession, delivery: TurnsDelivery) -> None:
    if delivery.client_content:
        await session.send_client_content(delivery.client_content, turn_complete=delivery.turn_complete)
    if delivery.realtime_text is not None:
        await session.send_text(delivery.realtime_text)
