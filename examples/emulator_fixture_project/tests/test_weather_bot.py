"""The bot against the local Live API emulator: no key, no network, real SDK on the wire."""

import json
import ssl

import pytest
from google import genai
from websockets.sync.client import connect

from weather_bot import ask


def client_for(emu) -> genai.Client:
    return genai.Client(api_key=emu.api_key, http_options=emu.http_options())


@pytest.mark.asyncio
@pytest.mark.gemini_live(think_ms=20, pace=10, scenario=['1:get_weather{"city": "Paris"}'])
async def test_the_bot_answers_with_the_tool_result(live_emulator):
    answer = await ask(client_for(live_emulator), "What's the weather in Paris?")

    assert "You are a weather bot" in answer  # the emulator's reply names the persona
    assert '"temp_c":21' in answer  # ...and repeats the tool result it was given
    (response,) = live_emulator.tool_responses
    assert response["response"] == {"city": "Paris", "temp_c": 21}
    await live_emulator.wait_closed()
    assert live_emulator.close_codes == [1000]  # the bot hung up cleanly


@pytest.mark.asyncio
async def test_a_server_error_mid_reply_reaches_the_bot(live_emulator_factory):
    emu = await live_emulator_factory(think_ms=20, faults=["close:1011@reply"])
    with pytest.raises(genai.errors.APIError) as error:
        await ask(client_for(emu), "Hello?")
    assert error.value.code == 1011


@pytest.mark.gemini_live(behaviour="3.1")
def test_a_plain_websocket_client_from_sync_code(live_emulator_thread):
    emu = live_emulator_thread
    url = emu.base_url.replace("https://", "wss://") + (
        "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    )
    context = ssl.create_default_context(cafile=emu.ca_file)
    with connect(url, ssl=context, additional_headers={"x-goog-api-key": emu.api_key}) as ws:
        ws.send(json.dumps({"setup": {"model": "models/my-future-model"}}))
        assert "setupComplete" in json.loads(ws.recv(timeout=10))
    assert emu.records[0].model == "models/my-future-model"
