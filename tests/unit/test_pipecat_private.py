"""The private Pipecat members :mod:`pipecat_gemini_live.pipecat_private` relies on still exist
in the pinned version, and do what it says."""

import asyncio
import inspect

from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import LLMService
from pipecat.utils.base_object import BaseObject

from pipecat_gemini_live import GeminiLiveLLMService
from pipecat_gemini_live import pipecat_private as private


def test_the_members_exist_on_the_pinned_pipecat():
    assert inspect.iscoroutinefunction(LLMService._cancel_function_calls_by_tool_call_id)
    assert callable(LLMService._sync_registered_tool_handlers)
    assert callable(LLMContext._normalize_and_validate_tools)
    assert callable(BaseObject._register_event_handler)
    assert inspect.iscoroutinefunction(BaseObject._call_event_handler)


def test_they_work_on_a_service():
    service = GeminiLiveLLMService(api_key="test-key")

    async def quick(params):
        await params.result_callback({})

    service.register_function("later", quick, cancel_on_interruption=False)
    service.register_function("now", quick)
    assert private.non_blocking_functions(service) == {"later"}

    private.set_base_instruction(service, "You are Ada.")
    assert service._base_system_instruction == "You are Ada."

    async def lookup(params, city: str):
        """Look a city up.

        Args:
            city: The city.
        """

    assert isinstance(private.normalize_tools([lookup]), ToolsSchema)


async def test_events_registered_and_emitted_reach_the_handlers():
    service = GeminiLiveLLMService(api_key="test-key")
    private.register_events(service, ["on_test_event"])
    heard = []

    @service.event_handler("on_test_event")
    async def on_test_event(svc, value):
        heard.append((svc, value))

    await private.event_emitter(service)("on_test_event", 7)
    for _ in range(3):  # Pipecat runs each handler in its own task
        await asyncio.sleep(0)
    assert heard == [(service, 7)]


def test_the_service_declares_its_events():
    service = GeminiLiveLLMService(api_key="test-key")
    for name in ("on_session_started", "on_session_ended", "on_switch", "on_reply_finished"):
        service.add_event_handler(name, lambda *a: None)
        assert len(service._event_handlers[name].handlers) == 1


def test_audio_skips_the_llm_layers_only_where_they_would_pass_it_unchanged():
    from pipecat.frames.frames import InputAudioRawFrame, LLMFullResponseStartFrame, LLMTextFrame, TTSAudioRawFrame
    from pipecat.processors.frame_processor import FrameDirection
    from pipecat.turns.speculation_gate import SpeculationState

    service = GeminiLiveLLMService(api_key="test-key")
    gate = service._speculation_gate
    caller = InputAudioRawFrame(audio=b"\0\0" * 160, sample_rate=16000, num_channels=1)
    reply = TTSAudioRawFrame(audio=b"\0\0" * 240, sample_rate=24000, num_channels=1)
    down = FrameDirection.DOWNSTREAM
    assert gate.state is SpeculationState.OPEN
    assert private.audio_passes_llm_layers(service, caller)
    assert private.audio_passes_llm_layers(service, reply)
    assert gate.process(reply, down) == [(reply, down)]  # what the full path would do
    assert not private.audio_passes_llm_layers(service, LLMTextFrame("hi"))
    # A speculative response is held: reply audio must go through the gate, caller audio not.
    gate.begin_speculation(True)
    gate.process(LLMFullResponseStartFrame(), down)
    assert gate.state is SpeculationState.HOLDING
    assert not private.audio_passes_llm_layers(service, reply)
    assert private.audio_passes_llm_layers(service, caller)
    assert gate.process(caller, down) == [(caller, down)]
    assert gate.process(reply, down) == []
