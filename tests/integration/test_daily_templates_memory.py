"""The Daily bot with template personas and a remembered user (fake daily-python client, real
transport, service and emulator, recorded speech): the room switches to the tutor and to the
interpreter by name, and a user the application names opens the call with their earlier turns."""

from __future__ import annotations

import asyncio

import pytest

from gemini_live_emulator import EmulatorConfig
from gemini_live_emulator.wire import get
from pipecat_gemini_live.apps.bots import LiveBackend, messages
from pipecat_gemini_live.apps.memory import NEW_CALL_NOTE, CallerMemory, MemoryStore
from pipecat_gemini_live.apps.personas.specs import persona_book
from pipelines.daily_bot import call_id as daily_call_id
from pipelines.daily_bot import DailyBotConfig, main as daily_main, run_daily_bot

from ..fakes import daily as fake_daily
from .test_daily_bot import ROOM, bot_finals, turn_audio, wait_for

TUTOR = 'tutor:{"age": 9, "level": 4}'


@pytest.mark.timeout(120)
async def test_template_personas_by_name_and_a_remembered_user(monkeypatch, tmp_path):
    fake_daily.install(monkeypatch)
    store = MemoryStore(f"sqlite:///{tmp_path / 'memory.sqlite3'}")
    memory = CallerMemory(store, b"s" * 32)
    key = memory.participant_key("user-42")
    store.append(key, "room@1", "user", "My dog is called Rex.")
    store.append(key, "room@1", "model", "Rex is a lovely name.")
    personas = persona_book([TUTOR, "interpreter:en-US:es-ES"])
    config = DailyBotConfig(room_url=ROOM, participant_id="user-42", memory=memory)
    backend = LiveBackend(None, emulator_config=EmulatorConfig(think_ms=100, pace=2.0))
    fake_daily.FakeCallClient.instances.clear()
    run = asyncio.create_task(run_daily_bot(config, backend, personas))
    client = await wait_for(
        lambda: fake_daily.FakeCallClient.instances and fake_daily.FakeCallClient.instances[0], 10, "the call client"
    )
    await wait_for(lambda: client.joined, 10, "the bot to join")
    emu = backend.emulator
    await client.participant_joins("caller-1")
    ready = await wait_for(lambda: client.messages("bot-ready"), 10, "bot-ready")
    assert [p["name"] for p in ready[0]["personas"]][-2:] == ["tutor", "interpreter-en-US-es-ES"]

    await client.speak("caller-1", turn_audio("cards_005.wav"))
    await wait_for(lambda: bot_finals(client), 20, "the first reply")
    for n, name in enumerate(["tutor", "interpreter-en-US-es-ES"], start=1):
        await client.app_message({"label": messages.MESSAGE_LABEL, "type": "persona", "name": name}, "caller-1")
        await wait_for(lambda: len(client.messages("persona-changed")) >= n, 15, f"the switch to {name}")
        await client.speak("caller-1", turn_audio("librivox_0880.wav"))
        await wait_for(lambda: len(bot_finals(client)) > n and bot_finals(client), 20, f"the reply as {name}")
    records = list(emu.records)
    await client.participant_leaves("caller-1")
    call = await asyncio.wait_for(run, 15)
    assert store.engine.pool.checkedin() == 0  # the bot's end disposed of the store's connections

    assert call.switches == ["tutor", "interpreter-en-US-es-ES"]
    assert all(m["ok"] for m in client.messages("persona-changed"))
    # The first session opened with the user's earlier turns, from the database.
    seed = [t["text"] for body in records[0].client_content for t in body.get("turns", [])]
    assert seed[:2] == ["My dog is called Rex.", "Rex is a lovely name."] and NEW_CALL_NOTE in seed[-1]
    # The tutor's rendered instruction and the interpreter's target language reached the sessions.
    instructions = ["".join(p.get("text", "") for p in get(get(r.setup, "systemInstruction", {}), "parts", [])) for r in records]
    assert personas.get("tutor").system_instruction in instructions
    last = records[-1]
    assert get(get(get(last.setup, "generationConfig", {}), "speechConfig", {}), "languageCode") == "es-ES"
    finals = [m["text"] for m in bot_finals(client)]
    assert finals[1].startswith("You are a patient, cheerful voice tutor")
    assert finals[2].startswith("[es-ES] ")  # the emulator's interpreter mode
    assert all(r.server_close_code is None for r in records)
    # This call's turns were written as it went: three caller turns, three replies.
    this_call = [t for t in store.recent(key) if t.call_id != "room@1"]
    assert [t.role for t in this_call].count("model") == 3
    # Under an id of its own: the room's name and a per-call suffix (another call in this room
    # gets another).
    (call_id,) = {t.call_id for t in this_call}
    room = ROOM.rsplit("/", 1)[-1]
    assert call_id.startswith(room + "@") and call_id != daily_call_id(ROOM) != daily_call_id(ROOM)
    store.close()


def test_the_daily_bot_refuses_a_bad_persona_spec(capsys):
    assert daily_main(["--room-url", ROOM, "--persona", "tutor:{}"]) == 2
    assert "age: Field required" in capsys.readouterr().err
