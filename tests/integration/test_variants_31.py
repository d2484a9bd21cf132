"""Persona switches, tool calls and goAway moves on 3.1 under both readings of its conflicting
clientContent rule (docs/model-rules.md): refused mid-session with 1007 as of 2026-08, taken as of
2026-09. The service tries the in-session path (an application's note, appended early in each
call), so under 2026-08 every call here also recovers from that refusal before the part under
test, with no error for the pipeline; under 2026-09 the call stays on its session."""

from __future__ import annotations

import re

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import LLMMessagesAppendFrame
from pipecat.services.llm_service import FunctionCallParams

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live import LiveOptions, PersonaUpdateFrame

from ..conftest import build_call
from .call_helpers import run_call

M31 = "gemini-3.1-flash-live-preview"
READINGS = pytest.mark.parametrize("variant", ["3.1@2026-08", "3.1@2026-09"])


def note() -> LLMMessagesAppendFrame:
    return LLMMessagesAppendFrame(messages=[{"role": "user", "content": "My name is Ada."}], run_llm=False)


def config(variant: str, **kw) -> EmulatorConfig:
    return EmulatorConfig(think_ms=100, pace=2.0, model_behaviours={"gemini-3.1-*": variant}, **kw)


def assert_the_try(records, variant: str) -> None:
    """The note was tried in-session: refused once as of 2026-08 (the first session only)."""
    codes = [r.server_close_code for r in records]
    if variant == "3.1@2026-08":
        assert codes[0] == 1007 and 1007 not in codes[1:], codes
    else:
        assert 1007 not in codes and records[0].client_content, codes


def heard_seconds(text: str) -> float:
    m = re.search(r"I heard you for (\d+\.\d) seconds", text)
    return float(m.group(1)) if m else -1.0


@READINGS
async def test_a_persona_switch_mid_sentence_on_3_1(tmp_path, variant):
    wav = build_call(tmp_path / "in.wav", [0.5, "librivox_0880.wav", 3.5])
    async with LiveEmulator(config(variant)) as emu:
        result = await run_call(
            emu, wav, tmp_path / "out.wav", model=M31,
            at=[(0.1, note()), (1.8, PersonaUpdateFrame(system_instruction="You are a pirate."))],
        )
        records = list(emu.records)
    assert result.errors == [], result.errors
    assert_the_try(records, variant)
    (switch,) = [s for s in result.service.handover.records if s.reason == "persona"]
    assert switch.ok and switch.method == "handover"
    (reply,) = [r for r in result.service.replies if not r.interrupted]
    assert reply.text.startswith("You are a pirate"), reply.text
    assert heard_seconds(reply.text) >= 2.4, reply.text  # the whole sentence reached the new session
    assert result.service.audio_counters.dropped == 0


@READINGS
async def test_a_tool_call_on_3_1(tmp_path, variant):
    wav = build_call(tmp_path / "in.wav", [0.5, "cards_001.wav", 4.0])
    weather = FunctionSchema(name="get_weather", description="The weather in a city.", properties={"city": {"type": "string"}}, required=["city"])

    async def get_weather(params: FunctionCallParams):
        await params.result_callback({"temp_c": 21, "city": params.arguments["city"]})

    # The note is the first user turn the model holds: the caller's sentence is its second.
    async with LiveEmulator(config(variant, scenario=['2:get_weather{"city": "Paris"}'])) as emu:
        from pipecat_gemini_live import GeminiLiveLLMService

        service = GeminiLiveLLMService(
            api_key=emu.api_key, http_options=emu.http_options(), model=M31, tools=ToolsSchema(standard_tools=[weather])
        )
        service.register_function("get_weather", get_weather)
        result = await run_call(emu, wav, tmp_path / "out.wav", service=service, at=[(0.1, note())])
        records = list(emu.records)
    assert result.errors == [], result.errors
    assert_the_try(records, variant)
    (response,) = [r for record in records for r in record.tool_responses]
    assert response["response"] == {"temp_c": 21, "city": "Paris"}
    assert any('get_weather returned {"temp_c":21,"city":"Paris"}' in r.text for r in result.service.replies)


@READINGS
async def test_go_away_moves_on_3_1(tmp_path, variant):
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 5.0, "cards_003.wav", 5.0, "cards_001.wav", 3.0])
    async with LiveEmulator(config(variant, lifetime_s=6.0, goaway_before_s=2.5)) as emu:
        result = await run_call(
            emu, wav, tmp_path / "out.wav", model=M31, options=LiveOptions(goaway_strategy="reseed"), at=[(0.1, note())]
        )
        records = list(emu.records)
    assert result.errors == [], result.errors
    assert_the_try(records, variant)
    svc = result.service
    moves = [s for s in svc.handover.records if s.reason == "goaway"]
    assert moves and all(s.ok for s in moves), moves
    assert sum("heard you for" in r.text for r in svc.replies) == 3 and svc.audio_counters.dropped == 0
    # The note and the conversation went along from session to session.
    assert "My name is Ada" in str(records[-1].client_content), records[-1].client_content
