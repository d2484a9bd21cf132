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

from pipecat.frames.frames import LLMSetToolsFrame
from pipecat.processors.aggregators.llm_context import LLMContext

from .frames import PersonaUpdateFrame
from .live_config import resolve_language

if TYPE_CHECKING:
    from .service import GeminiLiveLLMService


class ChangeRouter:
    """Turns persona, tool and context changes into switch requests for one service."""

    def __init__(self, service: "GeminiLiveLLMService"):
        self.svc = service
        self.context: LLMContext | None = None
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
        """Keep the pipeline's context; seed it only as the opening of a call not yet begun.

        Aggregators send the context back (upstream, after each bot turn) carrying the same
        conversation the service already records from the server's transcripts, so only the
        first context, before anyone has spoken, is seeded. A changed system message is a
        persona change whenever it comes.
        """
        svc = self.svc
        first = self.context is None
        self.context = context
        # The system message is read from the context itself: Gemini's adapter turns a lone
        # system message into a user turn (a request needs one), which is not what it means here.
        all_messages = context.get_messages()
        context_system = system_text(all_messages)
        if not first:
            await self.system_message(context_system)
            return
        self._context_system = context_system
        if context_system and not svc._settings.system_instruction:
            self._set_instruction(context_system)
        rest = all_messages[1:] if context_system is not None else all_messages
        messages = []
        if rest:
            opening = LLMContext(messages=list(rest))
            params = await svc.get_llm_adapter().get_llm_invocation_params(opening, service_tools=svc._service_tools())
            messages = params.get("messages") or []
        if svc.replies or any(e.kind != "context" for e in svc.history.entries):
            messages = []  # the call is under way: the server's transcripts are the record
        for content in messages:
            text = "".join(p.text or "" for p in (content.parts or []))
            if content.role == "model":
                svc.history.add_model(text, kind="context")
            else:
                svc.history.add_user(text, kind="context")
        respond = bool(svc.inference_on_context_initialization and messages and messages[-1].role == "user")
        if messages or (svc.session is not None and svc.current_spec() != svc.session.spec):
            await svc.request_switch("context", seed=bool(messages), respond=respond)

    async def system_message(self, system: str | None) -> None:
        """A context or messages update whose system message changed is a persona change."""
        if system is None or system == self._context_system:
            return
        self._context_system = system
        self._set_instruction(system)
        await self.svc.request_switch("persona")


def system_text(messages: list) -> str | None:
    """The text of a leading ``system`` / ``developer`` message, if any."""
    if not messages:
        return None
    first = messages[0]
    if isinstance(first, dict) and first.get("role") in ("system", "developer"):
        content = first.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return None
