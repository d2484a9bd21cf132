"""Every close code at every phase of a call, TCP drops, stalls, slow setups, refused connects.

Each case is a short call with real speech (two caller turns, a blocking tool call on the
first) against an emulator that injects one fault on the first connection. The calls run
concurrently (they are I/O-bound), once per module; each case is then checked on its own:

- retryable faults (1000, 1011, a drop with no close frame, a stall, a slow setup, refused
  connects) and a first 1007 after the setup (the call moves to a fresh, re-seeded session):
  the call goes on, both caller turns are answered, no caller audio is dropped, the tool result
  is not lost, the conversation is intact;
- 1008, a 1007 refusing the setup itself, and a second 1007 in the same call: the call ends
  with a fatal ErrorFrame that says what was rejected, no further retry.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import pytest
import pytest_asyncio
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.services.llm_service import FunctionCallParams

from pipecat_gemini_live import GeminiLiveLLMService, LiveOptions, RetryPolicy
from pipecat_gemini_live.protocol.history import CONTINUE_MARKER
from gemini_live_emulator import EmulatorConfig, LiveEmulator

from ..conftest import build_call, once_per_worker
from .call_helpers import CallResult, run_call

PHASES = ["setup", "speaking", "reply", "tool_call"]
RETRYABLE = [f"close:{code}@{phase}#0" for code in (1000, 1011) for phase in PHASES] + [
    f"drop@{phase}#0" for phase in PHASES[1:]
] + ["stall:30@reply#0", "slow_setup:2.5#0", "refuse:3"] + [f"close:1007@{phase}#0" for phase in PHASES]
# A case of several faults joins them with "+".
# A refused setup is tried once more (the call's one recovered refusal); two end the call.
FATAL = [f"close:1008@{phase}#0" for phase in PHASES] + [
    "close:1007@setup#0+close:1007@setup#1", "close:1007@speaking#0+close:1007@reply#1"
]
MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"


@dataclass
class Outcome:
    result: CallResult
    records: list


async def one_call(fault: str, wav, tmp_path) -> Outcome:
    weather = FunctionSchema(name="get_weather", description="weather", properties={}, required=[])

    async def get_weather(params: FunctionCallParams):
        await asyncio.sleep(0.2)
        await params.result_callback({"temp_c": 21})

    config = EmulatorConfig(think_ms=100, pace=2.0, faults=fault.split("+"), scenario=["1:get_weather"])
    async with LiveEmulator(config) as emu:
        service = GeminiLiveLLMService(
            api_key=emu.api_key,
            http_options=emu.http_options(),
            model=MODEL,
            system_instruction="You are a test assistant.",
            tools=ToolsSchema(standard_tools=[weather]),
            options=LiveOptions(stall_timeout_s=1.5, connect_timeout_s=2.0),
            retry=RetryPolicy(max_attempts=5, initial_delay_s=0.05, max_delay_s=0.5),
        )
        service.register_function("get_weather", get_weather)
        name = re.sub(r"\W", "_", fault)
        result = await asyncio.wait_for(run_call(emu, wav, tmp_path / f"{name}.wav", service=service), 90)
        await asyncio.sleep(0.1)
        return Outcome(result, list(emu.records))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def outcomes(tmp_path_factory):
    async def run_all():
        tmp = tmp_path_factory.mktemp("faults")
        wav = build_call(tmp / "call.wav", [0.3, "cards_001.wav", 4.5, "cards_003.wav", 2.5])
        cases = RETRYABLE + FATAL
        results = []
        for i in range(0, len(cases), 5):  # five calls at a time: real-time calls on two busy cores
            batch = cases[i : i + 5]
            results += await asyncio.gather(*(one_call(f, wav, tmp) for f in batch))
        return dict(zip(cases, results))

    return await once_per_worker("fault-matrix", run_all)


# One worker runs the whole matrix: the calls run concurrently once, in the module fixture.
pytestmark = pytest.mark.xdist_group("fault_matrix")


@pytest.mark.timeout(400)
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("fault", RETRYABLE)
async def test_the_call_goes_on(outcomes, fault):
    out = outcomes[fault]
    svc = out.result.service
    # Both caller turns were answered (the one hit by the fault by the new session); a reply
    # may be cut by the caller's next turn, but it was spoken.
    texts = [r.text for r in svc.replies if r.text]
    if fault.startswith("close:1007"):
        # Re-seeded, not resumed (the handle may hold what was refused): the turn hit by the
        # refusal is answered from its transcript in the seed, the next one from its audio.
        assert len(texts) >= 2, (fault, texts)
        assert "heard you for" in texts[-1], (fault, texts)
    else:
        assert sum("heard you for" in t for t in texts) >= 2, (fault, texts)
    assert svc.audio_counters.dropped == 0, fault
    # A reply the service asked for to go on with a cut one is marked (the call report does
    # not count it as a caller turn's answer); an answer to the caller never is.
    going_on = [(r.goes_on, r.text) for r in svc.replies if CONTINUE_MARKER in r.text or "heard you for" in r.text]
    assert all(goes_on == (CONTINUE_MARKER in text) for goes_on, text in going_on), (fault, going_on)
    # The tool result reached the model: a reply it composed speaks about it (the caller may
    # talk over that reply, so the model's side is what is checked).
    composed = [r.text for rec in out.records for r in rec.replies]
    assert any("get_weather returned" in t and "21" in t for t in composed), (fault, composed)
    # The conversation is intact: the last reply remembers the earlier turns.
    last = texts[-1]
    assert "no earlier turns" not in last, (fault, texts)
    if not fault.startswith(("slow_setup", "refuse")):
        assert len(out.records) >= 2 and any(s.reason in ("reconnect", "start") and s.attempts >= 1 for s in svc.handover.records)
    assert not any("no session for the call" in e for e in out.result.errors), out.result.errors


@pytest.mark.timeout(400)
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("fault", FATAL)
async def test_1007_and_1008_end_the_call_with_a_reason(outcomes, fault):
    out = outcomes[fault]
    code = fault.split(":")[1][:4]
    expected = "rejected a request" if code == "1007" else "refused the session"
    fatal = [e for e in out.result.errors if code in e and expected in e]
    assert fatal, (fault, out.result.errors)
    # One connection per refusal: a 1008 is never retried; a 1007 (at setup or after it) is
    # recovered from once, and the second one ends the call.
    assert len(out.records) == len(fault.split("+")), f"{fault}: {[r.close_code for r in out.records]}"


@pytest.mark.timeout(400)
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("fault", [f for f in RETRYABLE if f.startswith("close:1007") and "@setup" not in f])
async def test_a_first_1007_is_reported_and_the_call_moves_to_a_fresh_session(outcomes, fault):
    out = outcomes[fault]
    (refusal,) = [e for e in out.result.errors if "1007" in e]
    assert "refused a request" in refusal and "fresh session" in refusal, refusal
    first, second = out.records[:2]
    assert first.server_close_code == 1007 and second.resumed_from is None  # re-seeded, not resumed
    if first.replies:
        assert second.client_content, "the fresh session was seeded with the conversation"
