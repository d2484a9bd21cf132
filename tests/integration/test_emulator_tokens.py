"""Ephemeral tokens: minted over REST by the real SDK (or in-process), spent on the constrained method."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import warnings

import pytest
import websockets
from google import genai
from google.genai.errors import APIError, ClientError

from gemini_live_emulator import EmulatorConfig, LiveEmulator

from .sdk_helpers import collect_turn, live_config, speak, transcript

MODEL = "gemini-3.8-live"

pytestmark = pytest.mark.filterwarnings("ignore::google.genai.errors.ExperimentalWarning")


@pytest.fixture
async def emu():
    async with LiveEmulator(EmulatorConfig(think_ms=50, pace=5)) as emu:
        yield emu


def token_client(emu, token: str) -> genai.Client:
    return genai.Client(api_key=token, http_options=emu.http_options("v1alpha"))


async def test_sdk_creates_a_token_over_rest_and_its_setup_is_locked(emu):
    minting = genai.Client(api_key=emu.api_key, http_options=emu.http_options("v1alpha"))
    token = await minting.aio.auth_tokens.create(
        config={
            "uses": 1,
            "live_connect_constraints": {
                "model": MODEL,
                "config": {"system_instruction": "You are the locked persona.", "output_audio_transcription": {}},
            },
        }
    )
    assert token.name.startswith("auth_tokens/")
    client = token_client(emu, token.name)
    async with client.aio.live.connect(model=MODEL, config=live_config("You are an impostor.")) as session:
        await speak(session)
        reply = transcript(await collect_turn(session))
    assert "locked persona" in reply and "impostor" not in reply
    record = emu.records[0]
    assert record.method == "BidiGenerateContentConstrained" and record.auth == "ephemeral_token"
    assert "impostor" in json.dumps(record.client_setup)  # what the client asked for is kept
    # uses=1: a second session with the same token is refused like a bad key.
    with pytest.raises(APIError) as e:
        async with client.aio.live.connect(model=MODEL, config=live_config()):
            pass
    assert e.value.code == 1008
    assert [c.status for c in emu.rest_calls] == [200]


async def test_field_mask_locks_only_the_named_fields(emu):
    token = emu.issue_token(
        uses=0,
        setup={"systemInstruction": {"parts": [{"text": "You are the masked persona."}]},
               "generationConfig": {"temperature": 0.2}},
        field_mask=["systemInstruction"],
    )
    config = live_config("You are the client persona.", temperature=0.9)
    async with token_client(emu, token).aio.live.connect(model=MODEL, config=config) as session:
        await speak(session)
        reply = transcript(await collect_turn(session))
    assert "masked persona" in reply  # locked
    setup = emu.records[0].setup
    assert setup["generationConfig"]["temperature"] == 0.9  # not locked: the client's
    assert "outputAudioTranscription" in setup


async def test_expired_and_unknown_tokens_close_1008(emu):
    late = emu.issue_token(new_session_expire_time=time.time() - 1)
    for name in (late, "auth_tokens/never-issued"):
        with pytest.raises(APIError) as e:
            async with token_client(emu, name).aio.live.connect(model=MODEL, config=live_config()):
                pass
        assert e.value.code == 1008


async def test_a_token_on_the_unconstrained_method_is_refused(emu):
    token = emu.issue_token()
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    url = emu.base_url.replace("https", "wss") + "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent"
    async with websockets.connect(url, ssl=ctx, additional_headers={"Authorization": f"Token {token}"}) as ws:
        await ws.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
        with pytest.raises(websockets.exceptions.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), 5)
    assert e.value.rcvd.code == 1008


async def test_raw_client_spends_a_token_as_access_token_query(emu):
    token = emu.issue_token(uses=2)
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    url = (emu.base_url.replace("https", "wss")
           + "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained"
           + f"?access_token={token}")
    async with websockets.connect(url, ssl=ctx) as ws:
        await ws.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
        assert "setupComplete" in json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert emu.records[0].auth == "ephemeral_token"


async def test_rest_errors_use_googles_shape(emu):
    bad = genai.Client(api_key="not-the-key", http_options=emu.http_options("v1alpha"))
    with pytest.raises(ClientError) as e:
        await bad.aio.auth_tokens.create(config={"uses": 1})
    assert e.value.code == 400 and e.value.status == "INVALID_ARGUMENT"
    beta = genai.Client(api_key=emu.api_key, http_options=emu.http_options("v1beta"))
    with pytest.raises(ClientError) as e:
        await beta.aio.auth_tokens.create(config={"uses": 1})
    assert e.value.code == 404  # tokens are a v1alpha method
    # The sync client (httpx) trusts the emulator through the same HttpOptions.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        minting = genai.Client(api_key=emu.api_key, http_options=emu.http_options("v1alpha"))
        token = await asyncio.to_thread(minting.auth_tokens.create, config={"uses": 1})
    assert token.name in emu.tokens


async def test_model_behaviours_override_the_family_table():
    config = EmulatorConfig(think_ms=50, model_behaviours={"gemini-9.9-live*": "3.1"})
    async with LiveEmulator(config) as emu:
        client = genai.Client(api_key=emu.api_key, http_options=emu.http_options())
        async with client.aio.live.connect(model="gemini-9.9-live-preview", config=live_config()) as session:
            await session.send_realtime_input(text="hello")
            await collect_turn(session)
            await session.send_client_content(turns={"role": "user", "parts": [{"text": "late"}]})
            with pytest.raises(APIError) as e:
                await collect_turn(session)
    assert e.value.code == 1007  # the 3.1 rule, on a model the table does not know
    with pytest.raises(ValueError):
        EmulatorConfig(model_behaviours={"x*": "9.9"})
