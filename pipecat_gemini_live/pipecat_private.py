"""The private members of Pipecat's ``LLMService`` (and its ``BaseObject``) this package needs,
in one place.

Pipecat 1.14 has no public API for these; each function says which member it touches and why.
(The service also overrides ``_update_settings`` and ``_service_tools`` and reads
``_settings``: those are the hooks Pipecat's own services are written against, in the class
itself, not members reached from outside.)
``tests/unit/test_pipecat_private.py`` checks them against the pinned version, so an upgrade
that moves one fails there, not in a call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from pipecat.frames.frames import Frame, InputAudioRawFrame, TTSAudioRawFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import LLMService
from pipecat.turns.speculation_gate import SpeculationState
from pipecat.utils.base_object import BaseObject


def set_base_instruction(service: LLMService, text: str) -> None:
    """Make ``text`` the instruction Pipecat composes later updates from.

    ``LLMService._base_system_instruction``: a persona change replaces the instruction, and
    Pipecat's ``_update_settings`` recomposes ``system_instruction`` from this base (plus what
    ``append_system_instruction`` added); without it the next settings update would bring the
    old persona back.
    """
    service._base_system_instruction = text


def sync_tool_handlers(service: LLMService, tools: Any) -> None:
    """Register the handlers advertised with ``tools`` (direct functions, ``FunctionSchema``
    handlers) and drop those no longer advertised.

    ``LLMService._sync_registered_tool_handlers``: what Pipecat does for an ``LLMSetToolsFrame``
    reaching its own services; the frame is consumed here (the tools go to the session).
    """
    service._sync_registered_tool_handlers(tools)


async def cancel_function_call(service: LLMService, tool_call_id: str) -> None:
    """Cancel the running function call with ``tool_call_id``.

    ``LLMService._cancel_function_calls_by_tool_call_id``: a ``toolCallCancellation`` from the
    server names calls by id; Pipecat cancels by id only through this member.
    """
    await service._cancel_function_calls_by_tool_call_id(tool_call_id)


def non_blocking_functions(service: LLMService) -> set[str]:
    """Names of the functions registered with ``cancel_on_interruption=False``.

    ``LLMService._functions``: the registry; those functions are declared ``NON_BLOCKING`` in
    the session setup, which needs their names before any call is made.
    """
    return {name for name, item in service._functions.items() if name and not item.cancel_on_interruption}


def normalize_tools(tools: list) -> Any:
    """A list of ``FunctionSchema`` / direct functions as Pipecat's context would hold it.

    ``LLMContext._normalize_and_validate_tools``: the constructor's ``tools`` argument takes the
    same forms as an ``LLMContext``'s, and this is how Pipecat turns them into a ``ToolsSchema``.
    """
    return LLMContext._normalize_and_validate_tools(tools, allow_provider_tools=True)


def register_events(service: BaseObject, names: Iterable[str]) -> None:
    """Declare the events applications may handle with ``@service.event_handler(name)``.

    ``BaseObject._register_event_handler``: Pipecat declares an object's events only through
    this member (``add_event_handler`` on an undeclared name logs a warning and drops the
    handler); every Pipecat service declares its own events with it.
    """
    for name in names:
        service._register_event_handler(name)


def event_emitter(service: BaseObject) -> Callable[..., Awaitable[None]]:
    """``emit(name, *args)``: run the handlers applications registered for event ``name``.

    ``BaseObject._call_event_handler``: Pipecat runs an object's handlers only through this
    member (each in its own task, with exceptions logged, as for Pipecat's own events). The
    call runtime emits the service's events (``on_session_started``, ``on_switch``...) through
    the function returned here, so it never holds the service itself.
    """
    return service._call_event_handler


def audio_passes_llm_layers(service: LLMService, frame: Frame) -> bool:
    """Whether ``LLMService.push_frame`` and the layers under it (the turn-completion mixin,
    ``AIService``) would pass ``frame`` on unchanged, alone and at once.

    ``LLMService._speculation_gate``: those layers act only on text, response start/end,
    function-call, end and start frames; for audio the one thing that can happen is the
    speculation gate holding (or dropping) a non-system frame while a speculative response is
    pending. Caller audio is a system frame (emitted at once in every state); reply audio
    passes while the gate is ``OPEN``. A service whose gate cannot be read takes the full path.
    Reply and caller audio are most of the frames the service pushes, and each of those layers
    is a coroutine call per frame.
    """
    if isinstance(frame, InputAudioRawFrame):
        return True
    if isinstance(frame, TTSAudioRawFrame):
        gate = getattr(service, "_speculation_gate", None)
        return gate is not None and gate.state is SpeculationState.OPEN
    return False
