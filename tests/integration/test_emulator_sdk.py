"""The emulator against the real google-genai SDK (and a raw camelCase client)."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl

import numpy as np
import pytest
import websockets
from google.genai import types
from google.genai.errors import APIError

from ..conftest import speech
from .sdk_helpers import audio_bytes, client_for, collect_turn, live_config, speak, transcript

MODEL_25 = "gemini-2.5-flash-native-audio-preview-09-2025"
MODEL_31 = "gemini-3.1-flash-live-preview"
MODEL_38 = "gemini-3.8-live"


@pytest.mark.parametrize("version", [None, "v1", "v1alpha", "v1beta"])
async def test_setup_on_every_api_version(emulator, version):
    client = client_for(emulator, version)
    async with client.aio.live.connect(model=MODEL_25, config=live_config()) as session:
        assert session.session_id
    (record,) = await emulator.wait_for_connections(1)
    assert record.api_version == (version or "v1beta")
    assert record.model == f"models/{MODEL_25}"


async def test_wrong_key_closes_1008(emulator):
    client = client_for(emulator, api_key="not-the-key")
    with pytest.raises(APIError) as e:
        async with client.aio.live.connect(model=MODEL_25, config=live_config()):
            pass
    assert e.value.code == 1008 and "API key" in str(e.value.details)


async def test_unknown_model_closes_1008(emulator):
    with pytest.raises(APIError) as e:
        async with client_for(emulator).aio.live.connect(model="text-bison-001", config=live_config()):
            pass
    assert e.value.code == 1008 and "not found" in str(e.value.details)


async def test_unknown_path_is_404(emulator):
    ctx = ssl.create_default_context(cafile=emulator.ca_file)
    url = emulator.base_url.replace("https", "wss") + "/ws/google.ai.generativelanguage.v2.GenerativeService.Nope"
    with pytest.raises(websockets.exceptions.InvalidStatus) as e:
        async with websockets.connect(url, ssl=ctx):
            pass
    assert e.value.response.status_code == 404


async def test_a_turn_names_the_persona_and_counts_history(emulator):
    config = live_config("You are Captain Hook, a pirate. Speak like one.")
    async with client_for(emulator).aio.live.connect(model=MODEL_25, config=config) as session:
        await speak(session, "cards_001.wav")
        first = await collect_turn(session)
        await speak(session, "cards_003.wav")
        second = await collect_turn(session)
    t1, t2 = transcript(first), transcript(second)
    assert "Captain Hook" in t1 and "no earlier turns" in t1
    assert "two earlier turns" in t2
    kinds = []
    for m in first:
        sc = m.server_content
        if sc and sc.input_transcription:
            kinds.append("input")
        if sc and sc.model_turn:
            kinds.append("audio")
        if sc and sc.generation_complete:
            kinds.append("generation_complete")
        if sc and sc.turn_complete:
            kinds.append("turn_complete")
            assert m.usage_metadata and m.usage_metadata.total_token_count > 0
            # Documented by the SDK's types as always sent alongside turn_complete.
            assert sc.interaction_status == types.InteractionStatus.IDLE
    assert kinds[0] == "input" and kinds[-2:] == ["generation_complete", "turn_complete"]
    # The audio is speech-like and its length follows the text (about 24 kHz * 2 bytes * seconds).
    seconds = audio_bytes(first) / 48000
    assert 1.5 < seconds < 10


async def test_reply_audio_is_audible_24k_pcm(emulator):
    async with client_for(emulator).aio.live.connect(model=MODEL_25, config=live_config()) as session:
        await speak(session)
        messages = await collect_turn(session)
    pcm = b"".join(
        p.inline_data.data for m in messages if m.server_content and m.server_content.model_turn
        for p in m.server_content.model_turn.parts
    )
    mimes = {p.inline_data.mime_type for m in messages if m.server_content and m.server_content.model_turn for p in m.server_content.model_turn.parts}
    assert mimes == {"audio/pcm;rate=24000"}
    samples = np.frombuffer(pcm, dtype=np.int16).astype(float)
    assert np.sqrt(np.mean(samples**2)) > 500  # about -36 dBFS or louder


async def test_barge_in_interrupts_the_reply(emulator):
    async with client_for(emulator).aio.live.connect(model=MODEL_25, config=live_config()) as session:
        await speak(session, "cards_005.wav")
        seen: list[str] = []

        async def read():
            async for m in session.receive():
                sc = m.server_content
                if sc and sc.model_turn and "audio" not in seen:
                    seen.append("audio")
                    # The caller talks over the bot.
                    asyncio.create_task(speak(session, "cards_001.wav", silence_s=0.0))
                if sc and sc.interrupted:
                    seen.append("interrupted")
                if sc and sc.generation_complete:
                    seen.append("generation_complete")
                if sc and sc.turn_complete:
                    seen.append("turn_complete")
                    return

        await asyncio.wait_for(read(), 15)
    assert seen == ["audio", "interrupted", "turn_complete"]
    (record,) = emulator.records
    assert record.replies[0].interrupted


async def test_resumption_restores_the_conversation(emulator):
    client = client_for(emulator)
    handle = None
    async with client.aio.live.connect(model=MODEL_25, config=live_config(session_resumption={})) as session:
        await speak(session)
        async for m in session.receive():
            if m.session_resumption_update and m.session_resumption_update.resumable:
                handle = m.session_resumption_update.new_handle or handle
            if m.server_content and m.server_content.turn_complete:
                break
        # The handle issued after the turn arrives right after turnComplete.
        async for m in session.receive():
            if m.session_resumption_update and m.session_resumption_update.new_handle:
                handle = m.session_resumption_update.new_handle
                break
        # Resuming while this connection is still open is refused (field report).
        with pytest.raises(APIError) as e:
            async with client.aio.live.connect(
                model=MODEL_25, config=live_config(session_resumption={"handle": handle})
            ):
                pass
        assert e.value.code == 1011
    config = live_config(session_resumption={"handle": handle})
    async with client.aio.live.connect(model=MODEL_25, config=config) as resumed:
        await speak(resumed)
        reply = transcript(await collect_turn(resumed))
    assert "two earlier turns" in reply
    assert emulator.records[-1].resumed_from == handle
    with pytest.raises(APIError) as e:
        async with client.aio.live.connect(model=MODEL_25, config=live_config(session_resumption={"handle": "nope"})):
            pass
    assert e.value.code == 1007


async def test_raw_camel_case_client_with_standard_base64(emulator):
    ctx = ssl.create_default_context(cafile=emulator.ca_file)
    url = (
        emulator.base_url.replace("https", "wss")
        + "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    )
    async with websockets.connect(url, ssl=ctx, additional_headers={"x-goog-api-key": emulator.api_key}) as ws:
        await ws.send(json.dumps({"setup": {"model": f"models/{MODEL_38}", "outputAudioTranscription": {}}}))
        assert "setupComplete" in json.loads(await ws.recv())
        audio = np.concatenate([speech("cards_001.wav"), np.zeros(12000, dtype=np.int16)])
        for i in range(0, len(audio), 320):
            data = base64.b64encode(audio[i : i + 320].tobytes()).decode()
            await ws.send(json.dumps({"realtimeInput": {"audio": {"data": data, "mimeType": "audio/pcm;rate=16000"}}}))
        keys = set()
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            keys |= set(msg) | set(msg.get("serverContent", {}))
            if msg.get("serverContent", {}).get("turnComplete"):
                break
    assert {"serverContent", "modelTurn", "outputTranscription", "generationComplete", "usageMetadata"} <= keys


async def test_unknown_message_closes_1007_with_a_reason(emulator):
    ctx = ssl.create_default_context(cafile=emulator.ca_file)
    url = emulator.base_url.replace("https", "wss") + "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    async with websockets.connect(url, ssl=ctx, additional_headers={"x-goog-api-key": emulator.api_key}) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL_25}}))
        await ws.recv()
        await ws.send(json.dumps({"frobnicate": {}}))
        with pytest.raises(websockets.exceptions.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), 5)
    assert e.value.rcvd.code == 1007 and "frobnicate" in e.value.rcvd.reason


async def test_normal_close_is_recorded_as_1000(emulator):
    async with client_for(emulator).aio.live.connect(model=MODEL_25, config=live_config()):
        pass
    (record,) = await emulator.wait_for_connections(1)
    for _ in range(50):
        if record.closed:
            break
        await asyncio.sleep(0.02)
    assert record.client_close_code == 1000 and record.close_code == 1000
