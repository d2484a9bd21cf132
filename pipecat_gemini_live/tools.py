"""Function calls: ``toolCall`` -> Pipecat function calls -> ``toolResponse``.

Pipecat runs the handlers (``register_function``, ``FunctionSchema`` handlers, direct
functions) and reports each result as a ``FunctionCallResultFrame``; this bridge sends it back
as a ``toolResponse`` with the call's id. A result that arrives while the call is between
sessions waits and goes to the session the call is on next, so no result is lost in a switch.
Every call is answered: a result that is not JSON, an unknown function, a handler that raises
or times out all become an error response, so the model never waits forever.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.genai.types import FunctionResponse
from loguru import logger
from pipecat.adapters.llm.services.gemini_live_adapter import GeminiLiveLLMAdapter
from pipecat.frames.frames import FunctionCallResultFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import FunctionCallFromLLM

if TYPE_CHECKING:
    from .service import GeminiLiveLLMService


@dataclass
class ToolCallRecord:
    """One function call, for reports."""

    id: str
    name: str
    args: dict
    started_at: float
    session_index: int | None
    result: Any = None
    finished_at: float | None = None
    cancelled: bool = False
    error: str | None = None

    @property
    def latency_ms(self) -> float | None:
        """Call -> result, milliseconds."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at) * 1000.0


@dataclass
class ToolBridge:
    """Tracks calls the model made and delivers their results."""

    svc: "GeminiLiveLLMService"
    calls: dict[str, ToolCallRecord] = field(default_factory=dict)
    undelivered: list[FunctionResponse] = field(default_factory=list)

    async def on_tool_calls(self, calls: list[Any]) -> None:
        """Start Pipecat function calls for a ``toolCall``."""
        svc = self.svc
        session = svc.session
        batch = []
        for call in calls:
            call_id = call.id or f"call-{len(self.calls)}"
            name = call.name or ""
            args = dict(call.args or {})
            self.calls[call_id] = ToolCallRecord(
                id=call_id,
                name=name,
                args=args,
                started_at=time.monotonic(),
                session_index=session.index if session else None,
            )
            svc.history.add_tool_call(name, args)
            batch.append(
                FunctionCallFromLLM(
                    function_name=name,
                    tool_call_id=call_id,
                    arguments=args,
                    context=svc.context or LLMContext(),
                )
            )
        await svc.run_function_calls(batch)

    async def on_cancellation(self, ids: list[str]) -> None:
        """``toolCallCancellation``: stop those calls; nothing is sent for them."""
        for call_id in ids:
            record = self.calls.get(call_id)
            if record is not None and record.finished_at is None:
                record.cancelled = True
                record.finished_at = time.monotonic()
            await self.svc._cancel_function_calls_by_tool_call_id(call_id)

    async def on_result(self, frame: FunctionCallResultFrame) -> None:
        """Send a function result to the session the call is on."""
        record = self.calls.get(frame.tool_call_id)
        if record is not None and record.cancelled:
            return
        is_final = frame.properties.is_final if frame.properties else True
        response_body = self._response_body(frame)
        response = FunctionResponse(id=frame.tool_call_id, name=frame.function_name, response=response_body)
        if record is not None and is_final:
            record.result = response_body
            record.finished_at = time.monotonic()
        self.svc.history.add_tool_result(frame.function_name, response_body)
        await self.deliver([response])

    def _response_body(self, frame: FunctionCallResultFrame) -> dict:
        result = frame.result
        if frame.error:
            return {"error": frame.error, "result": _jsonable(result)}
        try:
            json.dumps(result)
        except (TypeError, ValueError) as e:
            message = f"result of {frame.function_name} is not JSON-serialisable ({e})"
            logger.error(f"{self.svc}: {message}")
            self.svc.create_task(self.svc.push_error(f"Function call error: {message}"))
            return {"error": message}
        if result is None:
            return {"result": "COMPLETED"}
        return GeminiLiveLLMAdapter.to_function_response_dict(result)

    async def deliver(self, responses: list[FunctionResponse]) -> None:
        """Send now if a session can take it, else keep for the next session."""
        session = self.svc.session
        if session is None or not session.ready or self.svc.handover.holding:
            self.undelivered.extend(responses)
            return
        try:
            await session.send_tool_response(responses)
        except Exception as e:
            logger.warning(f"{self.svc}: tool response not sent ({e}); kept for the next session")
            self.undelivered.extend(responses)

    async def flush(self) -> None:
        """Deliver results that waited for a session."""
        if self.undelivered:
            pending, self.undelivered = self.undelivered, []
            await self.deliver(pending)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
