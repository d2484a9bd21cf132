"""Settings changes, tools and hang-ups as Pipecat's Gemini Live examples write them."""

from __future__ import annotations

import asyncio

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import CancelFrame, EndFrame, EndWorkerFrame, LLMUpdateSettingsFrame
from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService as BuiltInService
from pipecat.services.llm_service import FunctionCallParams

from gemini_live_emulator import EmulatorConfig, LiveEmulator

from ..conftest import build_call
from .harness import KINDS, MODELS, developer_greeting, run_parity_call

END_CONVERSATION = FunctionSchema(
    name="end_conversation", description="End the call after saying goodbye.", properties={}, required=[]
)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_temperature_change_mid_call(emu, two_turns, tmp_path, kind):
    """``LLMUpdateSettingsFrame(temperature=0.1)`` ten seconds in, as Pipecat's example does:
    the built-in stores it and never applies it; ours moves to a session set up with it, at the
    end of the reply in progress. Both answer the caller's next turn."""
    change = LLMUpdateSettingsFrame(delta=BuiltInService.Settings(temperature=0.1))
    call = await run_parity_call(
        kind, emu, MODELS["2.5"], two_turns, tmp_path / "out.wav", on_start=[developer_greeting()], at=[(3.0, change)]
    )
    await emu.wait_closed(timeout=5)
    records = list(emu.records)
    temps = [r.setup.get("generationConfig", {}).get("temperature") for r in records]
    assert temps[-1] == (pytest.approx(0.1) if kind == "ours" else None), temps
    # Every caller turn was answered, none cut by the change.
    answers = [r for rec in records for r in rec.replies if "heard you" in r.text]
    assert len(answers) == 2 and not any(r.interrupted for r in answers), answers
    assert call.errors == []


@pytest.mark.parametrize("kind", KINDS)
async def test_a_system_instruction_change_through_settings(emu, two_turns, tmp_path, kind):
    change = LLMUpdateSettingsFrame(delta=BuiltInService.Settings(system_instruction="You are a sommelier."))
    await run_parity_call(
        kind, emu, MODELS["3.8"], two_turns, tmp_path / "out.wav", on_start=[developer_greeting()], at=[(3.0, change)]
    )
    await emu.wait_closed(timeout=5)
    last = [r for rec in emu.records for r in rec.replies][-1]
    assert last.text.startswith("You are a sommelier") == (kind == "ours"), last.text


@pytest.mark.parametrize("kind", KINDS)
async def test_a_tool_that_ends_the_call_after_the_goodbye(tmp_path, kind):
    """Pipecat's graceful-end example: the handler returns, then pushes ``EndWorkerFrame``. The
    model's last reply (its goodbye, about the tool's result) must be heard whole."""
    wav = build_call(tmp_path / "in.wav", [0.4, "cards_001.wav", 12.0])

    async def end_conversation(params: FunctionCallParams):
        await params.result_callback({"success": True})
        await params.llm.push_frame(EndWorkerFrame())

    config = EmulatorConfig(think_ms=100, pace=3.0, scenario=["1:end_conversation"])
    async with LiveEmulator(config) as emu:
        call = await run_parity_call(
            kind, emu, MODELS["2.5"], wav, tmp_path / "out.wav",
            tools=ToolsSchema(standard_tools=[END_CONVERSATION]), functions={"end_conversation": end_conversation},
            on_start=[developer_greeting()] if kind == "builtin" else [],
        )
        await emu.wait_closed(timeout=5)
        records = list(emu.records)
    (record,) = records
    assert record.tool_responses and record.tool_responses[0]["name"] == "end_conversation"
    goodbye = [r for r in record.replies if "end_conversation returned" in r.text]
    if kind == "ours":
        assert goodbye and not goodbye[-1].interrupted, [(r.text, r.interrupted) for r in record.replies]
        assert "end_conversation returned" in call.tap.text
        assert record.client_close_code == 1000
    else:
        # The built-in closes the session (1011) as soon as the EndFrame arrives, before the
        # model has answered the tool result: the caller never hears the goodbye.
        assert not goodbye and "end_conversation returned" not in call.tap.text
        assert record.close_code == 1011
    # The call ended long before the recording did.
    assert call.transport.input().finished_file_at is None


@pytest.mark.parametrize("frame", [EndFrame, CancelFrame])
@pytest.mark.parametrize("kind", KINDS)
async def test_a_hang_up_mid_reply_closes_the_session(emu, two_turns, tmp_path, kind, frame):
    """Ours closes with 1000 (a normal closure) whenever the call ends; the built-in with 1011."""
    await run_parity_call(kind, emu, MODELS["2.5"], two_turns, tmp_path / "out.wav", at=[(2.2, frame())])
    await emu.wait_closed(timeout=5)
    (record,) = emu.records
    assert record.closed
    assert record.close_code == (1000 if kind == "ours" else 1011)
