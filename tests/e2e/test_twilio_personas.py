"""The Twilio bot's persona switch: streamdouble calls it, presses ``*2`` mid-call, and the rest
of the call is the second persona (a new session with its instruction and voice); a menu key
still reaches the model."""

from __future__ import annotations

import json
from pathlib import Path

from streamdouble.scenario import Dtmf, Say, Scenario, Wait
from streamdouble.session import SessionConfig

from bench.harness import place_call, serve, ulaw_frames
from gemini_live_emulator import EmulatorConfig, LiveEmulator
from gemini_live_emulator.wire import get
from pipecat_gemini_live.apps.bots import PersonaBook
from pipecat_gemini_live.apps.transports.wav import load_wav
from pipelines.twilio_bot import TwilioBotConfig, TwilioCall, create_app

from ..conftest import build_call
from .test_twilio_bot import wait_finished


def instruction(record) -> str:
    return "".join(p.get("text", "") for p in get(get(record.setup, "systemInstruction", {}), "parts", []))


async def test_star_two_switches_the_call_to_the_second_persona(tmp_path):
    def say(name: str) -> Say:
        path = build_call(tmp_path / f"{name}.8k.wav", [name], rate=8000, subtype="ULAW")
        return Say(Path(path), ulaw_frames(load_wav(path)))

    def reply() -> list:
        # streamdouble's waits are satisfied by any earlier audio: give each reply its time.
        return [Wait(3.5)]

    scenario = Scenario(
        name="caller picks the pirate",
        steps=[
            Wait(0.4), say("cards_001.wav"), *reply(),
            Dtmf("5"), *reply(),
            Dtmf("*2"), Wait(1.5),
            say("cards_003.wav"), *reply(), Wait(0.5),
        ],
    )  # fmt: skip
    book = PersonaBook()
    calls: list[TwilioCall] = []
    async with LiveEmulator(EmulatorConfig(think_ms=100, words_per_minute=400)) as emu:
        bot = TwilioBotConfig(system_instruction="You are the switchboard. Be brief.")
        async with serve(create_app(bot, emulator=emu, on_call=calls.append)) as served:
            result = await place_call(served, scenario=scenario, config=SessionConfig(response_timeout_s=10.0))
            await wait_finished(calls)
        records = list(emu.records)
    assert result.violations == []
    assert [p.name for p in calls[0].keypad.requests] == ["pirate"]
    # The call opened as configured and moved to the pirate: its instruction and voice.
    assert [instruction(r) for r in records] == ["You are the switchboard. Be brief.", book.get("pirate").system_instruction]
    voice = get(get(get(get(records[1].setup, "generationConfig", {}), "speechConfig", {}), "voiceConfig", {}), "prebuiltVoiceConfig", {})
    assert get(voice, "voiceName") == "Puck"
    assert records[1].replies[-1].text.startswith("You are a cheerful pirate captain")
    # The menu key reached the model; the persona keys did not.
    said = json.dumps([r.texts + r.client_content for r in records])
    assert "pressed the 5 key" in said
    assert "pressed the * key" not in said and "pressed the 2 key" not in said
