"""Function calls: ``toolCall`` -> Pipecat function calls -> ``toolResponse``.

Pipecat runs the handlers (``register_function``, ``FunctionSchema`` handlers, direct
functions) and reports each result as a ``FunctionCallResultFrame``; this bridge sends it back
as a ``toolResponse`` with the call's id. Every call is answered, so the model never waits
forever: a result that is not JSON, an unknown function, a handler that raises, times out or is
cancelled by an interruption all become an error response. Only a ``toolCallCancellation`` from
the server is left unanswered (the model withdrew the call).

Calls survive session switches: a result for a call made by a session the call has left is
sent to the model as text (the id means nothing to the new session), and if the new session
makes the same call again, it is answered with the result already in hand instead of running
the function twice.

``NON_BLOCKING`` functions (registered with ``cancel_on_interruption=False``, on profiles that
take them) get a ``scheduling`` on each response: per result (:class:`ScheduledResult`), per
function (``service.tools.scheduling[name]``), ``SILENT`` for a result with ``run_llm=False``,
else ``WHEN_IDLE``. Intermediate results (``is_final=False``) carry ``willContinue``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from google.genai.types import FunctionResponse
from loguru import logger
from pipecat.adapters.llm.services.gemini_live_adapter import GeminiLiveLLMAdapter
from pipecat.frames.frames import FunctionCallCancelFrame, FunctionCallResultFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import FunctionCallFromLLM

from ..protocol.history import ConversationHistory
from ..protocol.outbound import SCHEDULING, orphan_note, result_body, tool_response
from ..protocol.profiles import ModelProfile
from .link import CallHooks, SessionLink


@dataclass
class FunctionRunner:
    """The hosting ``LLMService``'s function calling, as the bridge uses it.

    Attributes:
        has_function: Whether a handler (or a catch-all) is registered for a name.
        run: Runs a batch of calls (``LLMService.run_function_calls``).
        cancel: Cancels the call with a tool call id (see :mod:`pipecat_gemini_live.pipecat_private`).
        non_blocking: Names registered with ``cancel_on_interruption=False``.
        context: The pipeline's LLM context, once there is one.
    """

    has_function: Callable[[str], bool]
    run: Callable[[list[FunctionCallFromLLM]], Awaitable[None]]
    cancel: Callable[[str], Awaitable[None]]
    non_blocking: Callable[[], set[str]]
    context: Callable[[], LLMContext | None]


@dataclass
class ScheduledResult:
    """A function result with the scheduling its ``NON_BLOCKING`` response should carry.

    Pass it to the handler's ``result_callback`` instead of the bare value::

        await params.result_callback(ScheduledResult({"status": "booked"}, "INTERRUPT"))

    Attributes:
        value: The result (JSON-serialisable).
        scheduling: ``INTERRUPT`` (say it now), ``WHEN_IDLE`` (after the current reply) or
            ``SILENT`` (take it in without speaking).
    """

    value: Any
    scheduling: str

    def __post_init__(self):
        self.scheduling = self.scheduling.upper()
        if self.scheduling not in SCHEDULING:
            raise ValueError(f"scheduling must be one of {SCHEDULING}, got {self.scheduling!r}")


@dataclass
class ToolCallRecord:
    """One function call, for reports and for carrying results across sessions."""

    id: str
    name: str
    args: dict
    started_at: float
    session_index: int | None
    result: Any = None
    finished_at: float | None = None
    cancelled: bool = False
    error: str | None = None
    linked: list[str] = field(default_factory=list)

    @property
    def latency_ms(self) -> float | None:
        """Call -> result, milliseconds."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at) * 1000.0

    @property
    def key(self) -> str:
        """Name and arguments, to recognise the same call made again."""
        return self.name + json.dumps(self.args, sort_keys=True, default=str)


class ToolBridge:
    """Tracks calls the model made and delivers their results.

    Args:
        link: The seam to the session (responses wait in its outbox while none can take them).
        hooks: Error reporting and tasks of the hosting processor.
        history: The call's conversation record (calls and results are written down).
        functions: The hosting service's function calling.
        profile: The profile of the call's current model.
        reply_owed: Tells the watchdog the model owes an answer from now.
        deliver_note: Gives the model a note (a result for a call the session never made).
    """

    def __init__(
        self,
        link: SessionLink,
        hooks: CallHooks,
        history: ConversationHistory,
        functions: FunctionRunner,
        profile: Callable[[], ModelProfile],
        reply_owed: Callable[[], None],
        deliver_note: Callable[[str], Awaitable[None]],
    ):
        self.link = link
        self.hooks = hooks
        self.history = history
        self.functions = functions
        self.profile = profile
        self.reply_owed = reply_owed
        self.deliver_note = deliver_note
        self.calls: dict[str, ToolCallRecord] = {}
        self.scheduling: dict[str, str] = {}
        self._server_cancelled: set[str] = set()
        self._last_batch: list[str] = []  # ids of the latest toolCall

    # -- calls from the model --------------------------------------------------------------------

    async def on_tool_calls(self, calls: list[Any]) -> None:
        """Start Pipecat function calls for a ``toolCall`` (or answer repeats from earlier sessions)."""
        session = self.link.session
        batch = []
        self._last_batch = []
        for call in calls:
            call_id = call.id or f"call-{len(self.calls)}"
            self._last_batch.append(call_id)
            record = ToolCallRecord(
                id=call_id,
                name=call.name or "",
                args=dict(call.args or {}),
                started_at=time.monotonic(),
                session_index=session.index if session else None,
            )
            self.calls[call_id] = record
            self.history.add_tool_call(record.name, record.args)
            earlier = self._orphan_twin(record)
            if earlier is not None:
                # The model asked again after a switch: reuse the answer, don't run it twice.
                if earlier.finished_at is not None and not earlier.cancelled:
                    await self._answer(record, earlier.result)
                else:
                    earlier.linked.append(call_id)
                continue
            if not self.functions.has_function(record.name):
                await self.hooks.push_error(f"Gemini Live called unknown function {record.name!r}; answering with an error")
            batch.append(
                FunctionCallFromLLM(
                    function_name=record.name,
                    tool_call_id=call_id,
                    arguments=record.args,
                    context=self.functions.context() or LLMContext(),
                )
            )
        if batch:
            await self.functions.run(batch)

    def _orphan_twin(self, record: ToolCallRecord) -> ToolCallRecord | None:
        for other in self.calls.values():
            if other is not record and other.key == record.key and self._orphaned(other) and not other.cancelled:
                if other.finished_at is None or not other.linked:
                    return other
        return None

    def _orphaned(self, record: ToolCallRecord) -> bool:
        session = self.link.session
        return session is None or record.session_index != session.index

    async def on_cancellation(self, ids: list[str]) -> bool:
        """``toolCallCancellation``: stop those calls; nothing is sent for them.

        Returns:
            True when every call of the latest ``toolCall`` is now withdrawn before its result
            was in: the model's turn will not resume from them.
        """
        for call_id in ids:
            self._server_cancelled.add(call_id)
            record = self.calls.get(call_id)
            if record is not None and record.finished_at is None:
                record.cancelled = True
                record.finished_at = time.monotonic()
            await self.functions.cancel(call_id)
        latest = [self.calls.get(call_id) for call_id in self._last_batch]
        return bool(latest) and all(record is not None and record.cancelled for record in latest)

    # -- results from Pipecat ----------------------------------------------------------------

    async def on_result(self, frame: FunctionCallResultFrame) -> None:
        """A handler reported: answer the model."""
        record = self.calls.get(frame.tool_call_id)
        if record is None or record.cancelled:
            return
        is_final = frame.properties.is_final if frame.properties else True
        value = frame.result
        scheduling = None
        if isinstance(value, ScheduledResult):
            value, scheduling = value.value, value.scheduling
        body = self._body(frame.function_name, value, frame.error)
        if scheduling is None:
            run_llm = frame.properties.run_llm if frame.properties and frame.properties.run_llm is not None else frame.run_llm
            scheduling = self.scheduling.get(record.name) or ("SILENT" if run_llm is False else "WHEN_IDLE")
        await self._answer(record, body, final=is_final, scheduling=scheduling)

    async def on_cancel_frame(self, frame: FunctionCallCancelFrame) -> None:
        """Pipecat cancelled a call (timeout, interruption): the model still gets an answer."""
        call_id = frame.tool_call_id
        record = self.calls.get(call_id)
        if record is None or call_id in self._server_cancelled or record.finished_at is not None:
            return
        why = "timed out" if frame.run_llm else "was cancelled (the caller interrupted)"
        message = f"function {frame.function_name} {why} and returned no result"
        logger.warning(f"{self.link.session}: {message}")
        record.cancelled = True
        await self._answer(record, {"error": message}, force=True)

    def _body(self, name: str, value: Any, error: str | None) -> dict:
        body, problem = result_body(value, error, GeminiLiveLLMAdapter.to_function_response_dict)
        if problem is not None:
            message = f"result of {name} is {problem.removeprefix('result is ')}"
            body = {"error": message}
            logger.error(f"{self.link.session}: {message}")
            self.hooks.create_task(self.hooks.push_error(f"Function call error: {message}"))
        return body

    async def _answer(
        self,
        record: ToolCallRecord,
        body: dict,
        *,
        final: bool = True,
        scheduling: str | None = None,
        force: bool = False,
    ) -> None:
        if final:
            record.result = body
            record.finished_at = time.monotonic()
            self.history.add_tool_result(record.name, body)
        for call_id in [record.id, *record.linked]:
            target = self.calls.get(call_id, record)
            if self._orphaned(target):
                if final:
                    await self.deliver_note(orphan_note(record.name, body))
                continue
            non_blocking = self._non_blocking(record.name)
            response = tool_response(
                call_id, record.name, body, non_blocking=non_blocking, final=final, scheduling=scheduling, force=force
            )
            if response is None:
                continue  # a blocking call takes one response: the final one
            if not non_blocking:
                self.reply_owed()  # the model was waiting on this
            await self.deliver([response])
            if final and target is not record:
                target.result, target.finished_at = body, time.monotonic()

    def _non_blocking(self, name: str) -> bool:
        return self.profile().non_blocking_tools and name in self.functions.non_blocking()

    async def deliver(self, responses: list[FunctionResponse]) -> None:
        """Send now if a session can take it, else keep for the next session."""
        if not self.link.accepting():
            self._defer(responses)
            return
        session = self.link.session
        try:
            await session.send_tool_response(responses)
        except Exception as e:
            logger.warning(f"{session}: tool response not sent ({e}); kept for the next session")
            self._defer(responses)
            return
        # A session resumed from a handle older than this response never got it: it goes
        # again, as a note (the resumed session is not the one that made the call).
        for response in responses:
            self.link.sent("tool_response", response, lambda r=response: self._redeliver(r))

    def _defer(self, responses: list[FunctionResponse]) -> None:
        for response in responses:
            self.link.defer("tool_response", response, lambda r=response: self._redeliver(r))

    async def _redeliver(self, response: FunctionResponse) -> None:
        """A response that waited for a session: as a note when its call is orphaned now."""
        record = self.calls.get(response.id or "")
        if record is not None and self._orphaned(record):
            await self.deliver_note(orphan_note(record.name, response.response))
        else:
            await self.deliver([response])
