"""Scripted tool calls on the emulator: blocking, non-blocking scheduling, cancellation."""

from __future__ import annotations

import asyncio

from google.genai import types

from gemini_live_emulator import EmulatorConfig, LiveEmulator

from .sdk_helpers import client_for, collect_turn, live_config, speak, transcript

WEATHER = types.FunctionDeclaration(name="get_weather", description="weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}})


def tools(behavior=None):
    decl = WEATHER.model_copy()
    if behavior:
        decl.behavior = types.Behavior(behavior)
    return [types.Tool(function_declarations=[decl])]


async def first_tool_call(session, timeout=10):
    async def read():
        while True:
            async for m in session.receive():
                if m.tool_call:
                    return m.tool_call.function_calls

    return await asyncio.wait_for(read(), timeout)


async def test_blocking_call_waits_for_the_response():
    config = EmulatorConfig(think_ms=50, pace=4, scenario=['1:get_weather{"city": "Paris"}'])
    async with LiveEmulator(config) as emu:
        async with client_for(emu).aio.live.connect(model="gemini-3.1-flash-live-preview", config=live_config(tools=tools())) as session:
            await speak(session)
            (call,) = await first_tool_call(session)
            assert call.name == "get_weather" and call.args == {"city": "Paris"}
            await asyncio.sleep(0.3)
            assert not emu.records[0].replies  # the model waits
            await session.send_tool_response(function_responses=[types.FunctionResponse(id=call.id, name=call.name, response={"temp_c": 21})])
            reply = transcript(await collect_turn(session))
    assert "get_weather returned" in reply and "21" in reply


async def test_barge_in_cancels_a_pending_blocking_call_on_3_1():
    config = EmulatorConfig(think_ms=50, scenario=["1:get_weather"])
    async with LiveEmulator(config) as emu:
        async with client_for(emu).aio.live.connect(model="gemini-3.1-flash-live-preview", config=live_config(tools=tools())) as session:
            await speak(session)
            (call,) = await first_tool_call(session)
            await speak(session, "cards_003.wav")

            async def read_cancel():
                while True:
                    async for m in session.receive():
                        if m.tool_call_cancellation:
                            return m.tool_call_cancellation.ids

            assert await asyncio.wait_for(read_cancel(), 10) == [call.id]
            reply = transcript(await collect_turn(session))
    assert "heard you" in reply  # the new turn was answered, not the cancelled call


async def test_non_blocking_scheduling_modes():
    config = EmulatorConfig(think_ms=50, pace=4, scenario=["1:get_weather", "2:get_weather", "3:get_weather"])
    async with LiveEmulator(config) as emu:
        async with client_for(emu).aio.live.connect(model="gemini-3.8-live", config=live_config(tools=tools("NON_BLOCKING"))) as session:
            # WHEN_IDLE: the model finishes its reply, then speaks about the result.
            await speak(session)
            (call,) = await first_tool_call(session)
            await session.send_tool_response(function_responses=[types.FunctionResponse(id=call.id, name=call.name, response={"temp_c": 5}, scheduling="WHEN_IDLE")])
            first = transcript(await collect_turn(session))
            second = transcript(await collect_turn(session))
            assert "Let me check get_weather" in first and "get_weather returned" in second
            # SILENT: taken in, mentioned on the next turn only.
            await speak(session)
            (call,) = await first_tool_call(session)
            await session.send_tool_response(function_responses=[types.FunctionResponse(id=call.id, name=call.name, response={"temp_c": 6}, scheduling="SILENT")])
            assert "get_weather returned" not in transcript(await collect_turn(session))
            # INTERRUPT: cuts the reply in progress to speak about the result.
            await speak(session)
            (call,) = await first_tool_call(session)
            await session.send_tool_response(function_responses=[types.FunctionResponse(id=call.id, name=call.name, response={"temp_c": 7}, scheduling="INTERRUPT")])
            messages = await collect_turn(session)
            if any(m.server_content and m.server_content.interrupted for m in messages):
                messages = await collect_turn(session)  # the cut reply, then the one about the result
            text = transcript(messages)
            assert '"temp_c":7' in text and '"temp_c":6' in text  # the silent result comes back too
    assert len(emu.records[0].tool_calls) == 3


async def test_non_blocking_declaration_is_refused_on_3_1():
    from google.genai.errors import APIError

    async with LiveEmulator() as emu:
        try:
            async with client_for(emu).aio.live.connect(model="gemini-3.1-flash-live-preview", config=live_config(tools=tools("NON_BLOCKING"))):
                pass
        except APIError as e:
            assert e.code == 1007
        else:
            raise AssertionError("3.1 accepted a NON_BLOCKING declaration")
