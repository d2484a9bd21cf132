"""Who the bot is, changed mid-call: every way Pipecat says it, turned into one switch request.

A :class:`~.frames.PersonaUpdateFrame`, an ``LLMSetToolsFrame``, the first ``LLMContextFrame``
(its system message, tools and opening messages) and any later context or
``LLMMessagesUpdateFrame`` whose system message changed all update the service's settings and
ask the switcher (:mod:`.switcher`) to apply them: in place where the model can take it,
otherwise on a new session. (``LLMUpdateSettingsFrame`` arrives through Pipecat's
``_update_settings``, which the service overrides to do the same.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger
from pipecat.frames.frames import LLMSetToolsFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.utils.types import is_given

from ..frames import PersonaUpdateFrame
from ..protocol.context_messages import ContextChange, ContextTracker, Turn
from ..protocol.history import ConversationHistory
from ..protocol.setup import SessionSpec, resolve_language
from .link import SessionLink
from .text_input import TextInput

# The user turn that opens a call whose first context holds only the instruction (a lone
# system message, then ``LLMRunFrame``): the model greets the caller in its persona.
OPENING_CUE = "(The call has started. Greet the caller.)"


class ChangeRouter:
    """Turns persona, tool and context changes into switch requests for one call.

    Args:
        link: The seam to the session (whether the call has one, and its setup).
        text: Delivers the application's turns.
        history: The call's conversation record.
        settings: The service's Live settings (``voice`` and ``language`` are set here).
        set_instruction: Makes a text the system instruction (and Pipecat's base for it).
        set_tools: ``set_tools(tools, sync_handlers)``: the service's tools, changed.
        current_spec: The session setup the settings call for now.
        request_switch: ``request_switch(reason, label=None, **flags)``.
        replies_made: Whether the bot has replied yet in this call.
        warn_once: One warning per call.
        answer_first_context: ``inference_on_context_initialization``, read when the first
            context arrives (an application may set it after construction).
    """

    def __init__(
        self,
        *,
        link: SessionLink,
        text: TextInput,
        history: ConversationHistory,
        settings: Callable[[], Any],
        set_instruction: Callable[[str], None],
        set_tools: Callable[[Any, bool], None],
        current_spec: Callable[[], SessionSpec],
        request_switch: Callable[..., Awaitable[None]],
        replies_made: Callable[[], bool],
        warn_once: Callable[[str, str], None],
        answer_first_context: Callable[[], bool],
    ):
        self.link = link
        self.text = text
        self.history = history
        self.settings = settings
        self._set_instruction = set_instruction
        self._set_tools = set_tools
        self.current_spec = current_spec
        self.request_switch = request_switch
        self.replies_made = replies_made
        self.warn_once = warn_once
        self.answer_first_context = answer_first_context
        self.context: LLMContext | None = None
        self.tracker = ContextTracker()
        self._context_system: str | None = None

    async def persona(self, frame: PersonaUpdateFrame) -> None:
        """A :class:`PersonaUpdateFrame`: new instruction / voice / language / tools."""
        if frame.system_instruction is not None:
            self._set_instruction(frame.system_instruction)
        if frame.voice is not None:
            self.settings().voice = frame.voice
        if frame.language is not None:
            self.settings().language = resolve_language(frame.language)
        if frame.tools is not None:
            self._set_tools(frame.tools, False)
        await self.request_switch("persona", label=frame.label)

    async def set_tools(self, frame: LLMSetToolsFrame) -> None:
        """``LLMSetToolsFrame``: the model's tools, changed mid-call."""
        self._set_tools(frame.tools, True)
        if self.link.session is not None:
            await self.request_switch("tools")

    async def context_frame(self, context: LLMContext) -> None:
        """A context from the aggregators (or the application): apply what is news in it.

        The first context sets the instruction (its leading ``system`` message, as Pipecat's
        adapters read it) and opens the conversation: its messages are given to the session and,
        with ``inference_on_context_initialization``, answered, so an ``LLMRunFrame`` after a
        ``developer`` message makes the bot speak first. Later contexts mostly repeat what the
        session already has (the aggregators write down what this service reported); only the
        application's own messages are sent (:mod:`..protocol.context_messages`), and a rewritten history
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
            await self.text.deliver(change.turns, respond=change.ends_with_app_user_turn, kind="app")

    async def _first_context(self, context: LLMContext, change: ContextChange) -> None:
        self._context_system = change.system
        spec_changed = is_given(context.tools)
        instruction = self.settings().system_instruction
        if change.system and change.system != instruction:
            if instruction:
                self.warn_once(
                    "context-system",
                    "the context's system message replaces the system_instruction given at init "
                    "(as in Pipecat's adapters)",
                )
            self._set_instruction(change.system)
            spec_changed = True
        # A first context after the caller spoke repeats what the server already heard.
        under_way = self.replies_made() or any(e.kind != "context" for e in self.history.entries)
        turns = [] if under_way else change.turns
        respond = self.answer_first_context() and not under_way
        if len(turns) > 1 or (turns and turns[-1].role != "user"):
            # A conversation to carry (memory of earlier calls, a scripted opening): seed it.
            for t in turns:
                self.history.add_turn(t.role, t.text, kind="context")
            await self.request_switch("context", seed=True, respond=respond and turns[-1].role == "user")
            return
        session = self.link.session
        if spec_changed and (session is None or self.current_spec() != session.spec):
            await self.request_switch("context")
        if turns:
            await self.text.deliver(turns, respond=respond, kind="context")
        elif respond and change.system is not None:
            # A lone system message and an LLMRunFrame: Pipecat's built-in service sends that
            # message as a user turn and the bot speaks first. Here it is the instruction, and
            # a short cue has the bot speak first in it. (An empty first context opens no turn,
            # in either service.)
            await self.text.deliver([Turn("user", OPENING_CUE)], respond=True, kind="opening")

    async def _rewritten(self, change: ContextChange) -> None:
        """The application replaced the history: the model's memory becomes the new history."""
        logger.info(f"{self.link.session}: the context's history was rewritten; moving to a session seeded with it")
        self.history.replace([(t.role, t.text) for t in change.turns], kind="context")
        # Not answered: a rewrite (a summary replacing old turns) changes what the model
        # remembers; the conversation goes on with the caller's next turn.
        await self.request_switch("context", seed=True, force_new=True)

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
        await self.request_switch("persona")
