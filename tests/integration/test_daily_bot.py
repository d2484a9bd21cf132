"""The Daily bot's glue: Pipecat's real DailyTransport over a fake daily-python call client.

Daily's cloud is unreachable here, so the room is faked at daily-python's ``CallClient`` (see
tests/fakes/daily.py); the bot, Pipecat's transport and the service run for real against the
emulator, with real recorded speech as the caller's microphone.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from pipecat.frames.frames import InputImageRawFrame
from pipecat.observers.base_observer import BaseObserver, FrameProcessed
from pipecat.workers.runner import WorkerRunner

from pipecat_gemini_live.apps.bots import LiveBackend, PersonaBook, make_service, messages
from gemini_live_emulator import EmulatorConfig
from pipelines.daily_bot import ConfigError, DailyBotConfig, build_daily_bot, make_transport

from ..conftest import speech
from ..fakes import daily as fake_daily

ROOM = "https://example.daily.co/glue-test"
TOKEN = "daily-token-never-logged"


class ImagesAtService(BaseObserver):
    """Camera frames as the service receives them, with arrival times."""

    def __init__(self, service):
        super().__init__()
        self._service = service
        self.times: list[float] = []
        self.sizes: set[tuple[int, int]] = set()

    async def on_process_frame(self, data: FrameProcessed):
        if data.processor is self._service and isinstance(data.frame, InputImageRawFrame):
            self.times.append(time.monotonic())
            self.sizes.add(tuple(data.frame.size))


async def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return result


def turn_audio(name: str, silence_s: float = 1.5) -> np.ndarray:
    return np.concatenate([speech(name), np.zeros(int(16000 * silence_s), dtype=np.int16)])


def bot_finals(client) -> list[dict]:
    return [m for m in client.messages("transcript") if m["role"] == "bot" and m["final"]]


@pytest.mark.timeout(120)
async def test_daily_bot_call_glue(monkeypatch, capfd):
    fake_daily.install(monkeypatch)
    personas = PersonaBook()
    config = DailyBotConfig(room_url=ROOM, token=TOKEN, bot_name="Gemini test")
    async with LiveBackend(None, emulator_config=EmulatorConfig(think_ms=100)) as backend:
        service = make_service(backend, personas)
        images = ImagesAtService(service)
        ends = []

        @service.event_handler("on_session_ended")
        async def _ended(_service, session, end):
            ends.append(end)

        call = build_daily_bot(make_transport(config), service, personas, observers=[images])
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(call.worker)
        run = asyncio.create_task(runner.run())

        client = await wait_for(
            lambda: fake_daily.FakeCallClient.instances and fake_daily.FakeCallClient.instances[0],
            10,
            "the call client",
        )
        await wait_for(lambda: client.joined, 10, "the bot to join")
        assert client.joined == (ROOM, TOKEN)
        assert client.user_name == "Gemini test"
        # The bot publishes its microphone, not a camera.
        assert client.client_settings["publishing"]["microphone"]["isPublishing"] is True
        assert client.client_settings["publishing"]["camera"]["isPublishing"] is False

        await client.participant_joins("caller-1")
        ready = await wait_for(lambda: client.messages("bot-ready"), 10, "bot-ready")
        assert ready[0]["persona"] == "assistant"
        assert [p["name"] for p in ready[0]["personas"]] == ["assistant", "pirate", "concierge"]
        assert all("system_instruction" not in p for p in ready[0]["personas"])

        # Turn 1: the caller talks while their camera runs at 15 fps.
        camera = asyncio.create_task(client.show_camera("caller-1", seconds=3.2, fps=15))
        await client.speak("caller-1", turn_audio("cards_005.wav"))
        frames_sent = await camera
        first = await wait_for(lambda: bot_finals(client), 20, "the bot's first reply")

        # A persona request from the room, then turn 2 in the new persona.
        await client.app_message({"label": messages.MESSAGE_LABEL, "type": "persona", "name": "pirate"}, "caller-1")
        changed = await wait_for(lambda: client.messages("persona-changed"), 15, "persona-changed")
        await client.speak("caller-1", turn_audio("librivox_0880.wav"))
        finals = await wait_for(lambda: len(bot_finals(client)) >= 2 and bot_finals(client), 20, "the second reply")

        # Protocol errors are answered, other protocols' messages ignored.
        await client.app_message({"label": messages.MESSAGE_LABEL, "type": "persona", "name": "wizard"}, "caller-1")
        await client.app_message({"label": "rtvi-ai", "type": "client-ready"}, "caller-1")
        errors = await wait_for(lambda: client.messages("error"), 10, "an error message")

        await client.participant_leaves("caller-1")
        await asyncio.wait_for(run, 15)

    # Camera: 15 fps in, about 1 fps at the service (the transport samples it).
    assert frames_sent >= 40
    assert 2 <= len(images.times) <= 5, images.times
    gaps = np.diff(images.times)
    assert gaps.min() > 0.8, gaps
    assert images.sizes == {(320, 240)}

    # The caller's turns and the bot's replies reached the room as transcripts.
    users = [m for m in client.messages("transcript") if m["role"] == "user"]
    # Recognition off (the suite's default): each user line describes the speech by its length.
    assert len(users) >= 2 and all("caller speech" in m["text"] for m in users)
    partial = [m for m in client.messages("transcript") if m["role"] == "bot" and not m["final"]]
    assert len(partial) > len(finals)
    assert first[0]["text"].startswith("You are a helpful assistant")
    assert "pirate" in finals[1]["text"] and "earlier turn" in finals[1]["text"]
    assert changed[0] == messages.persona_changed("pirate", ok=True, switch_gap_ms=changed[0]["switch_gap_ms"])
    assert call.switches == ["pirate"] and call.persona.name == "pirate"
    assert "unknown persona 'wizard'" in errors[0]["error"]
    assert len(errors) == 1 and call.switcher.refused == 1

    # The bot spoke into the room: audible 24 kHz audio for both replies.
    mic_source = call.transport._client._microphone_track.source
    audio = mic_source.samples().astype(float)
    assert mic_source.sample_rate == 24000
    assert len(audio) > 24000 * 4
    assert np.sqrt(np.mean(audio**2)) > 300

    # Hang-up: the bot left the room, the Live session closed normally, the token stayed secret.
    assert client.left and client.released
    assert ends and ends[-1].code == 1000 and ends[-1].by_us
    out, err = capfd.readouterr()
    assert TOKEN not in out + err


def test_config_from_env_needs_a_room():
    with pytest.raises(ConfigError, match="DAILY_ROOM_URL is not set"):
        DailyBotConfig.from_env({})
    with pytest.raises(ConfigError, match="room URL"):
        DailyBotConfig.from_env({"DAILY_ROOM_URL": "not a url"})
    config = DailyBotConfig.from_env({"DAILY_ROOM_URL": ROOM, "DAILY_TOKEN": TOKEN})
    assert (config.room_url, config.token) == (ROOM, TOKEN)
    assert TOKEN not in repr(config)
    assert DailyBotConfig.from_env({"DAILY_ROOM_URL": ROOM, "DAILY_TOKEN": ""}).token is None
