"""The private Pipecat members :mod:`pipecat_gemini_live.pipecat_private` relies on still exist
in the pinned version, and do what it says."""

import inspect

from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import LLMService

from pipecat_gemini_live import GeminiLiveLLMService
from pipecat_gemini_live import pipecat_private as private


def test_the_members_exist_on_the_pinned_pipecat():
    assert inspect.iscoroutinefunction(LLMService._cancel_function_calls_by_tool_call_id)
    assert callable(LLMService._sync_registered_tool_handlers)
    assert callable(LLMContext._normalize_and_validate_tools)


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
