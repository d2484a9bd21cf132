"""Function calls against the emulator: every kind of call, result and failure.

Each case is a short call with real speech whose first caller turn makes the emulated model
call a function (scripted); the cases run concurrently once per module and are checked one by
one. Whatever happens, no call is left waiting: every call the model made got a response,
unless the model itself withdrew it (``toolCallCancellation``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
import pytest_asyncio
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import Frame, FunctionCallResultProperties, InputAudioRawFrame, LLMSetToolsFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams

from pipecat_gemini_live import GeminiLiveLLMService, ScheduledResult
from gemini_live_emulator import EmulatorConfig, LiveEmulator

from ..conftest import build_call, once_per_worker, speech
from .call_helpers import CallResult, run_call

pytestmark = pytest.mark.xdist_group("tool_matrix")

M25 = "gemini-2.5-flash-native-audio-preview-09-2025"
M31 = "gemini-3.1-flash-live-preview"
M38 = "gemini-3.8-live"


def schema(name: str) -> FunctionSchema:
    return FunctionSchema(name=name, description=f"{name} tool", properties={}, required=[])


async def weather(params: FunctionCallParams):
    await params.result_callback({"temp_c": 21})


async def clock(params: FunctionCallParams):
    await params.result_callback({"time": "12:30"})


def slow(seconds: float, value: Any = None, seen: list | None = None):
    async def handler(params: FunctionCallParams):
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            if seen is not None:
                seen.append(params.tool_call_id)
            raise
        await params.result_callback(value if value is not None else {"done": True})

    return handler


def returning(value: Any, **props):
    async def handler(params: FunctionCallParams):
        await params.result_callback(value, properties=FunctionCallResultProperties(**props) if props else None)

    return handler


async def raising(params: FunctionCallParams):
    raise RuntimeError("the weather station is offline")


@dataclass
class Case:
    model: str
    scenario: list[str]
    tools: list[str]
    handlers: dict[str, Callable]
    non_blocking: set[str] = field(default_factory=set)
    timeouts: dict[str, float] = field(default_factory=dict)
    scheduling: dict[str, str] = field(default_factory=dict)
    parts: list = field(default_factory=lambda: [0.3, "cards_001.wav", 5.0, "cards_003.wav", 4.0])
    at: list = field(default_factory=list)
    cancelled_seen: list = field(default_factory=list)
    variants: dict[str, str] = field(default_factory=dict)  # EmulatorConfig.model_behaviours
    barge_in: str | None = None  # speech (tests/data) the caller says once a handler has started


class SpeaksWhen(FrameProcessor):
    """A caller who speaks in response to the bot: once ``event`` is set, and ``after_s`` of
    audio later, the caller's 16 kHz PCM16 frames carry ``clip`` instead of what the recording
    held (same frame sizes and pace, so the call's timing is the recording's)."""

    def __init__(self, event: asyncio.Event, clip: str, after_s: float = 0.5):
        super().__init__()
        self._event = event
        self._samples = speech(clip).astype(np.int16)
        self._wait_samples = int(16000 * after_s)
        self._pos = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM and self._event.is_set():
            n = len(frame.audio) // 2
            if self._wait_samples > 0:
                self._wait_samples -= n
            elif self._pos < len(self._samples):
                chunk = self._samples[self._pos : self._pos + n]
                self._pos += n
                audio = np.zeros(n, dtype=np.int16)
                audio[: len(chunk)] = chunk
                frame = InputAudioRawFrame(audio=audio.tobytes(), sample_rate=frame.sample_rate, num_channels=1)
        await self.push_frame(frame, direction)


CANCELLED: list[str] = []
CASES: dict[str, Case] = {
    "blocking": Case(M25, ["1:get_weather"], ["get_weather"], {"get_weather": weather}),
    "parallel": Case(M25, ["1:get_weather,get_time"], ["get_weather", "get_time"], {"get_weather": weather, "get_time": clock}),
    "when_idle": Case(M38, ["1:get_weather"], ["get_weather"], {"get_weather": weather}, non_blocking={"get_weather"}),
    "interrupt": Case(
        M38, ["1:get_weather"], ["get_weather"], {"get_weather": returning(ScheduledResult({"temp_c": 7}, "INTERRUPT"))}, non_blocking={"get_weather"}
    ),
    "silent": Case(M38, ["1:get_weather"], ["get_weather"], {"get_weather": returning({"temp_c": 6}, run_llm=False)}, non_blocking={"get_weather"}),
    "per_function": Case(
        M38, ["1:get_weather"], ["get_weather"], {"get_weather": weather}, non_blocking={"get_weather"}, scheduling={"get_weather": "SILENT"}
    ),
    "non_blocking_on_31_is_blocking": Case(M31, ["1:get_weather"], ["get_weather"], {"get_weather": weather}, non_blocking={"get_weather"}),
    "cancelled_on_barge_in_31": Case(
        M31,
        ["1:get_weather"],
        ["get_weather"],
        {"get_weather": slow(6.0, seen=CANCELLED)},
        # The caller speaks again half a second after the handler starts, well inside the 6 s
        # it takes. A fixed pause in the recording raced the toolCall: fresh-clone runs, with
        # the suite's six workers on two cores, saw it come after pauses of 1.2, 2.2 and 3.5 s.
        parts=[0.3, "cards_001.wav", 12.0],
        barge_in="cards_003.wav",
    ),
    "slow_tool_barge_in_25": Case(
        M25, ["1:get_weather"], ["get_weather"], {"get_weather": slow(2.5, {"temp_c": 30})}, parts=[0.3, "cards_001.wav", 1.2, "cards_003.wav", 7.0]
    ),
    "unknown_function": Case(M25, ["1!:teleport"], ["get_weather"], {"get_weather": weather}),
    "raising_handler": Case(M25, ["1:get_weather"], ["get_weather"], {"get_weather": raising}),
    "timeout": Case(M25, ["1:get_weather"], ["get_weather"], {"get_weather": slow(5.0)}, timeouts={"get_weather": 0.5}),
    "non_json_result": Case(M25, ["1:get_weather"], ["get_weather"], {"get_weather": returning({"when": object()})}),
    **{
        f"tool_swap_{name}": Case(
            model,
            # 2.5 seeds end with a user turn, which the model counts: its second caller turn is
            # its third user turn.
            ["2:get_time", "3:get_time"],
            ["get_weather"],
            {"get_weather": weather, "get_time": clock},
            at=[(3.0, "swap")],
        )
        for name, model in (("25", M25), ("31", M31), ("38", M38))
    },
    # Both readings of conflicting rules (docs/model-rules.md): 3.8 before and after its
    # functions without a behavior became NON_BLOCKING; 3.1 refusing late clientContent and
    # accepting it.
    **{
        f"blocking_38@{date}": Case(M38, ["1:get_weather"], ["get_weather"], {"get_weather": weather}, variants={"gemini-3.8-*": f"3.8@{date}"})
        for date in ("2026-08", "2026-10")
    },
    "tool_swap_31@2026-09": Case(
        M31, ["2:get_time", "3:get_time"], ["get_weather"], {"get_weather": weather, "get_time": clock},
        at=[(3.0, "swap")], variants={"gemini-3.1-*": "3.1@2026-09"},
    ),
}


@dataclass
class Outcome:
    case: Case
    result: CallResult
    records: list


async def one_call(name: str, case: Case, tmp) -> Outcome:
    wav = build_call(tmp / f"{name}.wav", case.parts)
    config = EmulatorConfig(think_ms=100, pace=3.0, scenario=case.scenario, model_behaviours=case.variants)
    async with LiveEmulator(config) as emu:
        service = GeminiLiveLLMService(
            api_key=emu.api_key,
            http_options=emu.http_options(),
            model=case.model,
            system_instruction="You are a test assistant.",
            tools=ToolsSchema(standard_tools=[schema(t) for t in case.tools]),
        )
        started = asyncio.Event()

        def on_start(handler):
            async def wrapped(params: FunctionCallParams):
                started.set()
                await handler(params)

            return wrapped

        for fn, handler in case.handlers.items():
            if case.barge_in:
                handler = on_start(handler)
            service.register_function(
                fn, handler, cancel_on_interruption=fn not in case.non_blocking, timeout_secs=case.timeouts.get(fn)
            )
        service.tools.scheduling.update(case.scheduling)
        caller = [SpeaksWhen(started, case.barge_in)] if case.barge_in else None
        at = [(t, LLMSetToolsFrame(tools=ToolsSchema(standard_tools=[schema("get_weather"), schema("get_time")]))) for t, _ in case.at]
        result = await asyncio.wait_for(run_call(emu, wav, tmp / f"{name}-out.wav", service=service, at=at, caller=caller), 90)
        await asyncio.sleep(0.1)
        return Outcome(case, result, list(emu.records))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def outcomes(tmp_path_factory):
    async def run_all():
        tmp = tmp_path_factory.mktemp("tools")
        names = list(CASES)
        results = []
        for i in range(0, len(names), 8):
            batch = names[i : i + 8]
            results += await asyncio.gather(*(one_call(n, CASES[n], tmp) for n in batch))
        return dict(zip(names, results))

    return await once_per_worker("tool-matrix", run_all)


def responses(out: Outcome) -> dict[str, dict]:
    return {r["id"]: r for rec in out.records for r in rec.tool_responses}


def composed(out: Outcome) -> list[str]:
    return [r.text for rec in out.records for r in rec.replies]


@pytest.mark.timeout(400)
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("name", list(CASES))
async def test_no_call_is_left_waiting(outcomes, name):
    out = outcomes[name]
    answered = responses(out)
    for rec in out.records:
        withdrawn = set(rec.extra.get("cancelled_tool_calls", []))
        for call in rec.tool_calls:
            assert call["id"] in answered or call["id"] in withdrawn, (name, call, answered)


@pytest.mark.asyncio(loop_scope="module")
async def test_blocking_and_parallel_results_are_spoken(outcomes):
    out = outcomes["blocking"]
    (resp,) = responses(out).values()
    assert resp["response"] == {"temp_c": 21} and resp["scheduling"] is None
    assert any("get_weather returned" in t and "21" in t for t in composed(out))
    par = outcomes["parallel"]
    names = sorted(r["name"] for r in responses(par).values())
    assert names == ["get_time", "get_weather"]
    assert any("get_weather returned" in t and "get_time returned" in t for t in composed(par)), composed(par)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    "name,mode", [("when_idle", "WHEN_IDLE"), ("interrupt", "INTERRUPT"), ("silent", "SILENT"), ("per_function", "SILENT")]
)
async def test_non_blocking_scheduling(outcomes, name, mode):
    out = outcomes[name]
    (call,) = out.records[0].tool_calls
    assert call["blocking"] is False
    (resp,) = responses(out).values()
    assert resp["scheduling"] == mode and resp["willContinue"] is False
    texts = composed(out)
    assert "Let me check get_weather" in texts[0]  # the model kept talking while the tool ran
    spoken_result = [t for t in texts if "get_weather returned" in t]
    if mode == "SILENT":
        # Taken in, not answered: it only comes up on the caller's next turn.
        assert spoken_result and "heard you for" in spoken_result[0], texts
    else:
        assert spoken_result, texts


@pytest.mark.asyncio(loop_scope="module")
async def test_non_blocking_falls_back_to_blocking_on_3_1(outcomes):
    out = outcomes["non_blocking_on_31_is_blocking"]
    setup_tools = out.records[0].setup["tools"][0]["functionDeclarations"]
    assert all("behavior" not in d for d in setup_tools)  # 3.1 would close 1007 on it
    (resp,) = responses(out).values()
    assert resp["scheduling"] is None and out.records[0].server_close_code is None


@pytest.mark.asyncio(loop_scope="module")
async def test_cancellation_cancels_the_handler_and_sends_nothing(outcomes):
    out = outcomes["cancelled_on_barge_in_31"]
    rec = out.records[0]
    (call,) = rec.tool_calls
    assert rec.extra.get("cancelled_tool_calls") == [call["id"]]
    assert call["id"] in CANCELLED  # the Pipecat handler was cancelled
    assert call["id"] not in responses(out)
    assert out.result.service.tools.calls[call["id"]].cancelled
    assert any("heard you for" in t for t in composed(out))  # the caller's new turn was answered


@pytest.mark.asyncio(loop_scope="module")
async def test_slow_tool_with_barge_in_on_2_5_is_answered_when_ready(outcomes):
    out = outcomes["slow_tool_barge_in_25"]
    (resp,) = responses(out).values()
    assert resp["response"] == {"temp_c": 30}
    assert any("get_weather returned" in t for t in composed(out))


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    "name,in_response,in_error",
    [
        ("unknown_function", "not currently available", "unknown function 'teleport'"),
        ("raising_handler", "RuntimeError: the weather station is offline", "the weather station is offline"),
        ("timeout", "timed out", None),
        ("non_json_result", "not JSON-serialisable", "not JSON-serialisable"),
    ],
)
async def test_failures_become_error_responses(outcomes, name, in_response, in_error):
    out = outcomes[name]
    (resp,) = responses(out).values()
    assert in_response in str(resp["response"]), resp
    if in_error:
        assert any(in_error in e for e in out.result.errors), out.result.errors
    assert any("returned" in t for t in composed(out))  # the model went on


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    "name,method",
    [("tool_swap_25", "handover"), ("tool_swap_31", "handover"), ("tool_swap_31@2026-09", "handover"), ("tool_swap_38", "context_update")],
)
async def test_tools_swapped_mid_call(outcomes, name, method):
    out = outcomes[name]
    swaps = [s for s in out.result.service.handover.records if s.reason == "tools"]
    assert [s.method for s in swaps] == [method]
    calls = [c for rec in out.records for c in rec.tool_calls]
    assert [c["name"] for c in calls] == ["get_time"]  # the new tool was there to be called
    assert all(r.server_close_code is None for r in out.records)
    assert any("get_time returned" in t and "12:30" in t for t in composed(out))


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("date", ["2026-08", "2026-10"])
async def test_a_blocking_function_blocks_on_3_8_whatever_its_default(outcomes, date):
    # The service declares every behavior (BLOCKING too): the model waits for the result on
    # both readings of 3.8's default, and speaks it.
    out = outcomes[f"blocking_38@{date}"]
    (rec,) = out.records
    decl = rec.setup["tools"][0]["functionDeclarations"][0]
    assert decl["behavior"] == "BLOCKING"
    (call,) = rec.tool_calls
    assert call["blocking"] is True
    texts = composed(out)
    assert not any("Let me check" in t for t in texts)
    assert any("get_weather returned" in t and "21" in t for t in texts), texts
