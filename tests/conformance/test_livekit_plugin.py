"""LiveKit's Google realtime plugin (``livekit-plugins-google`` 1.8.9, written against the real
server) against the emulator: connect, audio both ways, transcriptions, an instructions update,
a tool round trip, an interruption.

Where the plugin and the emulator disagreed, the plugin's source and the SDK's types decided
(docs/model-rules.md): a 2.5 ``clientContent`` that ends with a model turn and does not ask
for a reply (``turnComplete`` false) is accepted, as the plugin's ``update_instructions``
relies on.
"""

from __future__ import annotations

import asyncio

import pytest

from gemini_live_emulator import EmulatorConfig, LiveEmulator

# The plugin (and livekit-agents, ~3 s to import) is imported by the tests that use it, not
# when every worker collects this module, and they share one worker.
pytestmark = pytest.mark.xdist_group("livekit_plugin")

MODEL_25 = "gemini-2.5-flash-native-audio-preview-09-2025"
# The plugin's aclose cancels its tasks inside the SDK's connection: websockets closes it 1011
# (as Pipecat's built-in service does, tests/conformance/test_pipecat_services.py).
PLUGIN_CLOSE = {1000, 1011}


async def closed(emu: LiveEmulator, count: int = 1) -> list[int]:
    for _ in range(100):
        if len(emu.close_codes) >= count:
            break
        await asyncio.sleep(0.05)
    return emu.close_codes


async def test_a_plugin_session_hears_answers_and_takes_new_instructions():
    from .livekit_driver import PluginSession

    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=4.0)) as emu:
        p = await PluginSession(emu, MODEL_25, "You are Lark. Be brief.").start()
        try:
            await p.speak("cards_001.wav", realtime=False)
            first = await p.reply(0)
            await p.session.update_instructions("You are Wren. Be brief.")
            await p.speak("cards_003.wav", realtime=False)
            second = await p.reply(1)
        finally:
            await p.aclose()
        codes = await closed(emu)
    (record,) = emu.records
    assert p.errors == []
    # The setup the plugin built: its instructions, audio out, both transcriptions asked for.
    setup = record.setup
    assert "You are Lark" in str(setup["systemInstruction"]) and setup["generationConfig"]["responseModalities"] == ["AUDIO"]
    assert "inputAudioTranscription" in setup and "outputAudioTranscription" in setup
    # Audio both ways: 16 kHz in, the emulator's 24 kHz PCM16 reply out, byte for byte.
    assert record.audio_rates == {16000}
    for gen, reply in zip([first, second], record.replies):
        assert gen.text == reply.text and abs(gen.audio_bytes - reply.audio_s * 48000) <= 2
    assert first.text.startswith("You are Lark.") and "no earlier turns" in first.text
    # Transcriptions: interim pieces, then the whole turn once the reply is done.
    assert p.interim_inputs and p.inputs[:2] == ["(caller speech, 0.9 seconds)", "(caller speech, 1.4 seconds)"]
    # Instructions update on the Gemini API: a lone model turn, turnComplete false, mid-session.
    # Accepted (no 1007); the model holds it as a turn (three earlier turns), and the session
    # instruction stays as set up, as the plugin's own comment says of role "model".
    assert record.client_content == [{"turns": [{"role": "model", "text": "You are Wren. Be brief."}], "turnComplete": False}]
    assert second.text.startswith("You are Lark.") and "three earlier turns" in second.text
    assert codes and set(codes) <= PLUGIN_CLOSE


async def test_a_plugin_tool_call_is_answered_through_the_chat_context():
    from livekit.agents import llm

    from .livekit_driver import PluginSession

    config = EmulatorConfig(think_ms=100, pace=4.0, scenario=['1:get_weather{"city": "Paris"}'])

    @llm.function_tool
    async def get_weather(city: str) -> dict:
        """The weather in a city."""
        return {"temp_c": 21}

    async with LiveEmulator(config) as emu:
        p = await PluginSession(emu, MODEL_25, "You are Lark.", tools=[get_weather]).start()
        try:
            await p.speak("cards_001.wav", realtime=False)
            call_turn = await p.reply(0)
            assert [(c.name, c.arguments) for c in call_turn.calls] == [("get_weather", '{"city": "Paris"}')]
            await p.answer_calls(call_turn, {"temp_c": 21, "sky": "clear"})
            after = await p.reply(1)
        finally:
            await p.aclose()
    assert p.errors == []
    (record,) = emu.records
    declared = record.setup["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather"
    (call,) = record.tool_calls
    (response,) = record.tool_responses
    assert response["id"] == call["id"] and response["name"] == "get_weather"
    # The plugin wraps a tool's output as {"output": <its JSON text>}; the reply repeats it.
    assert response["response"] == {"output": '{"temp_c": 21, "sky": "clear"}'}
    assert "The tool said: get_weather returned" in after.text and "sky" in after.text


async def test_the_caller_interrupts_a_plugin_reply():
    from .livekit_driver import PluginSession

    # Replies at real time: the caller speaks over one still streaming.
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=1.0)) as emu:
        p = await PluginSession(emu, MODEL_25, "You are Lark.").start()
        try:
            await p.speak("cards_001.wav", silence_s=0.8)
            for _ in range(200):  # the reply has started playing
                if p.generations and p.generations[0].audio_bytes:
                    break
                await asyncio.sleep(0.02)
            before = p.speech_started
            await p.speak("cards_003.wav", silence_s=1.0)
            await p.reply(0)
            await p.reply(1)
        finally:
            await p.aclose()
    (record,) = emu.records
    assert [r.interrupted for r in record.replies[:2]] == [True, False]
    # The plugin's barge-in signal (the agent stops its playout on it).
    assert p.speech_started > before
    assert p.errors == []
