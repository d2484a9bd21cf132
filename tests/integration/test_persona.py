"""Persona switches in a running call: nothing lost, latest wins, failures keep the call."""

from __future__ import annotations

import asyncio
import re

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.services.llm_service import FunctionCallParams

from pipecat_gemini_live import PersonaUpdateFrame
from gemini_live_emulator import EmulatorConfig, LiveEmulator

from ..conftest import build_call
from .call_helpers import run_call

M25 = "gemini-2.5-flash-native-audio-preview-09-2025"


def heard_seconds(text: str) -> float:
    m = re.search(r"I heard you for (\d+\.\d) seconds", text)
    return float(m.group(1)) if m else -1.0


async def test_a_switch_mid_sentence_loses_none_of_it(tmp_path):
    # librivox_0880 is ~2.7 s of speech; the switch lands in the middle of it.
    wav = build_call(tmp_path / "in.wav", [0.5, "librivox_0880.wav", 3.0])
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=2.0)) as emu:
        result = await run_call(
            emu, wav, tmp_path / "out.wav", model=M25, at=[(1.8, PersonaUpdateFrame(system_instruction="You are a pirate."))]
        )
        records = list(emu.records)
    (switch,) = [s for s in result.service.handover.records if s.reason == "persona"]
    assert switch.ok and switch.in_frames_dropped == 0
    assert switch.in_frames_replayed > 30  # the start of the sentence, sent again to the new session
    (reply,) = [r for r in result.service.replies if not r.interrupted]
    assert reply.text.startswith("You are a pirate")
    # The new session heard the whole sentence, not just what came after the switch.
    assert heard_seconds(reply.text) >= 2.4, reply.text
    assert records[1].audio_bytes >= 2.6 * 32000
    assert result.service.audio_counters.dropped == 0


async def test_the_latest_of_two_quick_switches_wins(tmp_path):
    wav = build_call(tmp_path / "in.wav", [3.0, "cards_001.wav", 2.5])
    # The first switch's session is slow to set up, so the second request comes while it is in flight.
    config = EmulatorConfig(think_ms=100, pace=2.0, faults=["slow_setup:0.8#1"])
    async with LiveEmulator(config) as emu:
        result = await run_call(
            emu,
            wav,
            tmp_path / "out.wav",
            model=M25,
            at=[
                (1.0, PersonaUpdateFrame(system_instruction="You are a pirate.")),
                (1.3, PersonaUpdateFrame(system_instruction="You are a librarian.")),
            ],
        )
    svc = result.service
    (reply,) = svc.replies
    assert reply.text.startswith("You are a librarian"), reply.text
    assert svc.session is None or svc.session.system_instruction == "You are a librarian."
    persona = [s for s in svc.handover.records if s.reason == "persona"]
    assert persona[-1].ok and persona[-1].system_instruction == "You are a librarian."
    assert svc.audio_counters.dropped == 0


async def test_a_failed_switch_keeps_the_call_on_the_old_session(tmp_path):
    wav = build_call(tmp_path / "in.wav", [2.5, "cards_001.wav", 2.5])
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=2.0, faults=["close:1008@setup#1"])) as emu:
        result = await run_call(
            emu,
            wav,
            tmp_path / "out.wav",
            model=M25,
            system_instruction="You are a test assistant.",
            at=[(1.0, PersonaUpdateFrame(system_instruction="You are a pirate."))],
        )
    svc = result.service
    (switch,) = [s for s in svc.handover.records if s.reason == "persona"]
    assert not switch.ok and "1008" in switch.error
    assert any("switch failed" in e and "staying on the current session" in e for e in result.errors)
    (reply,) = svc.replies
    assert reply.text.startswith("You are a test assistant") and reply.session_index == 0
    assert svc.audio_counters.dropped == 0


async def test_a_tool_result_arriving_during_a_switch_reaches_the_new_session(tmp_path):
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 5.0])
    weather = FunctionSchema(name="get_weather", description="weather", properties={}, required=[])

    async def slow_weather(params: FunctionCallParams):
        await asyncio.sleep(1.0)
        await params.result_callback({"temp_c": 21})

    config = EmulatorConfig(think_ms=100, pace=2.0, scenario=["1:get_weather"])
    async with LiveEmulator(config) as emu:

        async def switch_when_called():
            await emu.wait_for_connections(1)
            while not emu.records[0].tool_calls:
                await asyncio.sleep(0.01)
            return emu.records[0].tool_calls[0]

        svc_kwargs = dict(model=M25, tools=ToolsSchema(standard_tools=[weather]))
        from pipecat_gemini_live import GeminiLiveLLMService

        service = GeminiLiveLLMService(
            api_key=emu.api_key, http_options=emu.http_options(), system_instruction="You are a test assistant.", **svc_kwargs
        )
        service.register_function("get_weather", slow_weather)
        # The switch lands while the handler is still running (it takes 1 s).
        result = await run_call(
            emu, wav, tmp_path / "out.wav", service=service,
            at=[(2.0, PersonaUpdateFrame(system_instruction="You are a pirate."))],
        )
        records = list(emu.records)
    assert records[0].tool_calls and not records[0].tool_responses  # the old session never got it
    # The new session was told the result and answered it.
    assert any("get_weather returned" in r.text and r.text.startswith("You are a pirate") for r in result.service.replies), [
        r.text for r in result.service.replies
    ]
    assert any("[Function get_weather returned" in (c["turns"][0]["text"] if c["turns"] else "") for c in records[1].client_content)
