"""Dated variants of a model's rules (docs/model-rules.md), chosen per emulator: where field
reports conflict, the emulator plays each reading, so a client can be tested against both."""

from __future__ import annotations

import asyncio

import pytest
from google.genai import types
from google.genai.errors import APIError

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from gemini_live_emulator.behaviour import VARIANTS, behaviour_named

from .sdk_helpers import client_for, collect_turn, live_config, speak, transcript
from .test_emulator_tools import first_tool_call, tools

MODEL_31 = "gemini-3.1-flash-live-preview"
MODEL_38 = "gemini-3.8-live"


def test_every_variant_is_named_by_its_date():
    for name, behaviour in VARIANTS.items():
        family, _, date = name.partition("@")
        assert family in {"2.5", "3.1", "3.8"} and len(date) == 7 and date[4] == "-", name
        assert behaviour_named(name) is behaviour
    with pytest.raises(ValueError):
        behaviour_named("3.1@1999-01")


async def late_instruction_update(variant: str) -> tuple[str, list[int]]:
    """A 3.1 session that spoke, then gets an instruction update mid-session (as LiveKit's
    plugin sends it: a lone model turn, turnComplete false), then speaks again."""
    config = EmulatorConfig(think_ms=50, pace=4.0, model_behaviours={"gemini-3.1-*": variant})
    async with LiveEmulator(config) as emu:
        reply = ""
        try:
            async with client_for(emu).aio.live.connect(model=MODEL_31, config=live_config()) as session:
                await speak(session)
                await collect_turn(session)
                await session.send_client_content(
                    turns=[types.Content(role="model", parts=[types.Part(text="You are Wren.")])], turn_complete=False
                )
                await speak(session, "cards_003.wav")
                reply = transcript(await collect_turn(session))
        except APIError:
            pass
        (record,) = emu.records
        for _ in range(100):
            if record.closed:
                break
            await asyncio.sleep(0.05)
        return reply, emu.close_codes


async def test_3_1_refuses_a_late_update_as_of_august_and_takes_it_as_of_september():
    strict, mutable = await asyncio.gather(late_instruction_update("3.1@2026-08"), late_instruction_update("3.1@2026-09"))
    assert strict[1] == [1007] and strict[0] == ""
    assert 1007 not in mutable[1] and "three earlier turns" in mutable[0]


async def test_3_8_functions_without_a_behavior_block_as_of_august_and_not_as_of_october():
    async def call(variant: str) -> tuple[bool, str]:
        config = EmulatorConfig(
            think_ms=50, pace=4.0, scenario=['1:get_weather{"city": "Paris"}'], model_behaviours={"gemini-3.8-*": variant}
        )
        async with LiveEmulator(config) as emu:
            async with client_for(emu).aio.live.connect(model=MODEL_38, config=live_config(tools=tools())) as session:
                await speak(session)
                await first_tool_call(session)
                # A model that does not wait speaks without the result.
                try:
                    reply = transcript(await collect_turn(session, timeout=3.0))
                except asyncio.TimeoutError:
                    reply = ""
            (call,) = emu.records[0].tool_calls
            return call["blocking"], reply

    (blocking, waited), (non_blocking, spoke) = await asyncio.gather(call("3.8@2026-08"), call("3.8@2026-10"))
    assert blocking is True and waited == ""
    assert non_blocking is False and "Let me check get_weather" in spoke
