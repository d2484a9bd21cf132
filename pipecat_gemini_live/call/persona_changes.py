"""Who the bot is, changed mid-call: every way Pipecat says it, turned into one switch request.

A :class:`~.frames.PersonaUpdateFrame`, an ``LLMSetToolsFrame``, the first ``LLMContextFrame``
(its system message, tools and opening messages) and any later context or
``LLMMessagesUpdateFrame`` whose system message changed all update the service's settings and
ask the hand-over (:mod:`.handover`) to apply them: in place where the model can take it,
otherwise on a new session. (``LLMUpdateSettingsFrame`` arrives through Pipecat's
``_update_settings``, which the service overrides to do the same.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger
from pipecat.frames.frames import LLMSetToolsFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.utils.types import is_given

from ..protocol.context_messages import ContextChange, ContextTracker, Turn
from ..frames import PersonaUpdateFrame
from ..protocol.setup import resolve_language

if TYPE_CHECKING:
    from ..service import GeminiLiveLLMService

# The user turn that opens a call whose first context holds only the instruction (a lone
# system message, then ``LLMRunFrame``): the model greets the caller in its persona.
OPENING_CUE = "(The call has started. Greet the caller.)"


class ChangeRouter:
    """Turns persona, tool and context changes into switch requests for one service."""

    def __init__(self, service: "GeminiLiveLLMService"):
        self.svc = service
        self.context: LLMContext | None = None
        self.tracker = ContextTracker()
        self._context_system: str | None = None

    def _set_instruction(self, text: str) -> None:
        svc = self.svc
        svc._settings.system_instruction = text
        # Pipecat recomposes the effective instruction from this base on later updates.
        svc._base_system_instruction = text

    async def persona(self, frame: PersonaUpdateFrame) -> None:
        """A :class:`PersonaUpdateFrame`: new instruction / voice / language / tools."""
        svc = self.svc
        if frame.system_instruction is not None:
            self._set_instruction(frame.system_instruction)
        if frame.voice is not None:
            svc._settings.voice = frame.voice
        if frame.language is not None:
            svc._settings.language = resolve_language(frame.language)
        if frame.tools is not None:
            svc.set_tools(frame.tools)
        await svc.request_switch("persona", label=frame.label)

    async def set_tools(self, frame: LLMSetToolsFrame) -> None:
        """``LLMSetToolsFrame``: the model's tools, changed mid-call."""
        svc = self.svc
        svc.set_tools(frame.tools)
        svc._sync_registered_tool_handlers(frame.tools)
        if svc.session is not None:
            await svc.request_switch("tools")

    async def context_frame(self, context: LLMContext) -> None:
        """A context from the aggregators (or the application): apply what is news in it.

        The first context sets the instruction (its leading ``system`` message, as Pipecat's
        adapters read it) and opens the conversation: its messages are given to the session and,
        with ``inference_on_context_initialization``, answered, so an ``LLMRunFrame`` after a
        ``developer`` message makes the bot speak first. Later contexts mostly repeat what the
        session already has (the aggregators write down what this service reported); only the
        application's own messages are sent (:mod:`.context_sync`), and a rewritten history
        (messages edited in code) moves the call to a session seeded with it.
        """
        first = self.context is None
        self.context = context
        change = self.tracker.update(context.get_messages())
        if first:
            await self._first_context(context, change)
            return
        await self.system_message(change.system)
        if change.rewritten:
            await self._rewritten(change)
        elif change.turns:
            await self.svc.content.deliver(change.turns, respond=change.ends_with_app_user_turn, kind="app")

    async def _first_context(self, context: LLMContext, change: ContextChange) -> None:
        svc = self.svc
        self._context_system = change.system
        spec_changed = is_given(context.tools)
        if change.system and change.system != svc._settings.system_instruction:
            if svc._settings.system_instruction:
                svc.warn_once(
                    "context-system",
                    "the context's system message replaces the system_instruction given at init "
                    "(as in Pipecat's adapters)",
                )
            self._set_instruction(change.system)
            spec_changed = True
        # A first context after the caller spoke repeats what the server already heard.
        under_way = bool(svc.replies) or any(e.kind != "context" for e in svc.history.entries)
        turns = [] if under_way else change.turns
        respond = svc.inference_on_context_initialization and not under_way
        if len(turns) > 1 or (turns and turns[-1].role != "user"):
            # A conversation to carry (memory of earlier calls, a scripted opening): seed it.
            for t in turns:
                svc.history.add_turn(t.role, t.text, kind="context")
            await svc.request_switch("context", seed=True, respond=respond and turns[-1].role == "user")
            return
        if spec_changed and (svc.session is None or svc.current_spec() != svc.session.spec):
            await svc.request_switch("context")
        if turns:
            await svc.content.deliver(turns, respond=respond, kind="context")
        elif respond and change.system is not None:
            # A lone system message and an LLMRunFrame: Pipecat's built-in service sends that
            # message as a user turn and the bot speaks first. Here it is the instruction, and
            # a short cue has the bot speak first in it. (An empty first context opens no turn,
            # in either service.)
            await svc.content.deliver([Turn("user", OPENING_CUE)], respond=True, kind="opening")

    async def _rewritten(self, change: ContextChange) -> None:
        """The application replaced the history: the model's memory becomes the new history."""
        svc = self.svc
        logger.info(f"{svc}: the context's history was rewritten; moving to a session seeded with it")
        svc.history.replace([(t.role, t.text) for t in change.turns], kind="context")
        # Not answered: a rewrite (a summary replacing old turns) changes what the model
        # remembers; the conversation goes on with the caller's next turn.
        await svc.request_switch("context", seed=True, force_new=True)

    async def messages_update(self, messages: list) -> None:
        """``LLMMessagesUpdateFrame`` reaching the service itself (no aggregators): the
        conversation is replaced, as a rewritten context is."""
        context = LLMContext(messages=list(messages))
        self.context = context
        self.tracker = ContextTracker()
        change = self.tracker.update(context.get_messages())
        await self.system_message(change.system)
        change.rewritten = True
        await self._rewritten(change)

    async def system_message(self, system: str | None) -> None:
        """A context or messages update whose system message changed is a persona change."""
        if system is None or system == self._context_system:
            return
        self._context_system = system
        self._set_instruction(system)
        await self.svc.request_switch("persona")
