"""What a session's messages and its end mean for the call: resumption checkpoints, drops,
refusals, stalls.

Every session of the call reports here (:meth:`SessionEvents.on_message`,
:meth:`SessionEvents.on_end`); only the session the call is on is played. An unexpected end is
classified by close code (:mod:`..protocol.close_codes`): a retryable one moves the call to a new
session (resumed where a handle allows, the cut reply taken up again); a first 1007 (the server
refused something we sent) moves it to a fresh session seeded with the history and stops sending
that kind of message to the model; anything else ends the call with a fatal error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from google.genai.types import LiveServerMessage
from loguru import logger

from ..protocol.close_codes import classify
from ..protocol.history import ConversationHistory
from ..protocol.profiles import learn_refusal, refusal_changes
from .caller_audio import CallerAudio
from .connection import LiveSession, SessionEnd
from .link import CallHooks, SessionLink
from .replies import ServerEvents
from .watchdog import SessionWatchdog


class SessionEvents:
    """Handles the messages and ends of one call's sessions.

    Args:
        link: The seam to the session.
        hooks: Error reporting of the hosting processor.
        replies: The bot's replies (server messages are applied there).
        history: The call's conversation record.
        caller: The caller's audio (its replay buffer is checkpointed at each handle).
        watchdog: The session watchdog (told about messages and ends).
        request_switch: ``request_switch(reason, label=None, **flags)``.
        ending: Whether the call is hanging up.
        on_session_ended: Awaited with ``(session, end)`` for every session's end.
    """

    def __init__(
        self,
        *,
        link: SessionLink,
        hooks: CallHooks,
        replies: ServerEvents,
        history: ConversationHistory,
        caller: CallerAudio,
        watchdog: SessionWatchdog,
        request_switch: Callable[..., Awaitable[None]],
        ending: Callable[[], bool],
        on_session_ended: Callable[[LiveSession, SessionEnd], Awaitable[None]],
    ):
        self.link = link
        self.hooks = hooks
        self.replies = replies
        self.history = history
        self.caller = caller
        self.watchdog = watchdog
        self.request_switch = request_switch
        self.ending = ending
        self.on_session_ended = on_session_ended
        self.refused: str | None = None  # the kind of message a first 1007 refused

    async def on_message(self, session: LiveSession, message: LiveServerMessage) -> None:
        """One server message from any of the call's sessions."""
        if message.session_resumption_update is not None:
            update = message.session_resumption_update
            session.resumable = bool(update.resumable)
            if update.resumable and update.new_handle:
                session.handle = update.new_handle
                if session is self.link.session:
                    self.caller.tail.checkpoint()
                    self.link.checkpoint()
            self.watchdog.poke()  # a goAway may be waiting for a resumable session
        if session is not self.link.session:
            return  # a session being set up, or one the call has left
        self.watchdog.saw_message()
        await self.replies.handle(message, session)

    async def on_end(self, session: LiveSession, end: SessionEnd) -> None:
        """A session ended (any of the call's, whatever the cause)."""
        await self.on_session_ended(session, end)
        self.watchdog.poke()
        if self.ending() or end.by_us or session is not self.link.session:
            return
        verdict = classify(end.code, end.reason, end.error)
        logger.warning(f"{session} ended unexpectedly: {end.code} {end.reason!r}")
        # Whether the reply this end cut is taken up is decided once, here: the switcher of a
        # move in progress reads the same answer (asking the history twice would spend the one
        # take-up on the reconnect the move makes moot).
        cut = await self.replies.cut() and self.history.may_take_up_cut_reply()
        self.link.cut_by_drop = cut
        self.history.end_model_turn()
        if end.code == 1007 and not self.refused:
            await self._recover_from_refusal(session, end, cut)
            return
        if not verdict.retry:
            self.link.session = None
            await self.hooks.push_error(
                f"Gemini Live session ended: {verdict.explanation}", force_treat_as_permanent=True
            )
            return
        # A reply cut by the drop is taken up again: a resumed session answers the replayed
        # audio; a re-seeded one is asked to go on.
        await self.request_switch(
            "reconnect", resume=True, old_dead=True, respond=cut, dead_session=session.index
        )

    async def abandon(self, session: LiveSession, reason: str) -> None:
        """Give up on a session that is still open (stalled): reconnect as after a drop."""
        if session is not self.link.session:
            return
        cut = await self.replies.cut()
        self.history.end_model_turn()
        await session.abort()
        respond = cut and self.history.may_take_up_cut_reply()
        await self.request_switch(
            "reconnect", resume=True, old_dead=True, respond=respond, dead_session=session.index, label=reason
        )

    async def _recover_from_refusal(self, session: LiveSession, end: SessionEnd, cut: bool) -> None:
        """A first 1007: the server refused something we sent. Move to a fresh session.

        The new session is seeded with the history (text turns, which every model takes) and
        the kind of message refused is not sent to that model that way again in this process
        (logged once per model). A refusal of something the profile was only trying (a rule the
        field reports disagree on, ``ModelProfile.unsure``) is an expected answer: the call just
        goes the other way. Any other refusal is reported to the pipeline as an ``ErrorFrame``,
        and a second one in the call ends it.
        """
        kind = session.last_sent_kind or "unknown"
        with_detection = _detection_on(session)
        changes = refusal_changes(kind, marks_with_detection=with_detection)
        trial = bool(changes) and set(changes) <= session.trying
        learned = learn_refusal(session.model, kind, marks_with_detection=with_detection)
        if learned:
            # Once per model and process: the next sessions and calls go the other way at once.
            logger.warning(f"{session.model} refused {kind} (1007 {end.reason!r}); not sending it that way again ({learned})")
        if not trial:
            self.refused = kind
            after = f"after {kind}" if session.last_sent_kind else "with only caller audio sent"
            await self.hooks.push_error(
                f"Gemini Live refused a request (1007 {end.reason!r}) {after}; the call moved to "
                "a fresh session seeded with the conversation"
                + (f", and {kind} will not be sent to this model that way again" if learned else "")
            )
        await self.request_switch(
            "reconnect", old_dead=True, force_new=True, respond=cut, dead_session=session.index, label="1007"
        )


def _detection_on(session: LiveSession) -> bool:
    """Whether ``session`` was set up with the server's automatic activity detection on."""
    ric = getattr(session.config, "realtime_input_config", None)
    detection = getattr(ric, "automatic_activity_detection", None)
    return not (detection is not None and detection.disabled)
