"""``toolCallCancellation`` tells the call whether the model's turn can still resume."""

import asyncio
from types import SimpleNamespace
from unittest.mock import AsyncMock

from pipecat_gemini_live.call.link import SessionLink
from pipecat_gemini_live.call.tools import FunctionRunner, ToolBridge
from pipecat_gemini_live.protocol.history import ConversationHistory


def bridge() -> ToolBridge:
    functions = FunctionRunner(
        has_function=lambda name: True,
        run=AsyncMock(),
        cancel=AsyncMock(),
        non_blocking=lambda: set(),
        context=lambda: None,
    )
    hooks = SimpleNamespace(push_error=AsyncMock())
    return ToolBridge(SessionLink(10.0), hooks, ConversationHistory(), functions, lambda: None, lambda: None, AsyncMock())


def call(call_id: str) -> SimpleNamespace:
    return SimpleNamespace(id=call_id, name="get_weather", args={"city": "Oslo"})


def test_withdrawing_every_pending_call_ends_the_turn():
    async def run():
        tools = bridge()
        await tools.on_tool_calls([call("a"), call("b")])
        assert not await tools.on_cancellation(["a"])  # b may still resume the turn
        assert await tools.on_cancellation(["b"])

    asyncio.run(run())


def test_a_call_whose_result_is_in_still_resumes_the_turn():
    async def run():
        tools = bridge()
        await tools.on_tool_calls([call("a"), call("b")])
        tools.calls["a"].finished_at = 1.0  # answered before the cancellation came
        assert not await tools.on_cancellation(["a", "b"])
        assert not await tools.on_cancellation(["unknown"])

    asyncio.run(run())
