"""The Twilio bot end to end: streamdouble (a Twilio Media Streams simulator) calls it with real speech.

The bot runs under uvicorn on loopback with the in-process Live API emulator; streamdouble
plays 8 kHz mu-law speech built from tests/data in 20 ms frames, in real time, as Twilio does,
after the TwiML webhook handed out the call's stream token.
"""

from __future__ import annotations

import asyncio
import audioop
import base64
import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import websockets
from fastapi import FastAPI, Request
from loguru import logger
from streamdouble.protocol import StreamIdentity
from streamdouble.scenario import Expect, Say, Scenario, Wait, WaitFor
from streamdouble.session import SessionConfig
from twilio.request_validator import RequestValidator

from bench.harness import (
    free_port,
    place_call,
    post_webhook,
    serve,
    stream_token,
    ulaw_frames,
    webhook_form,
)
from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live.apps.report import caller_segments
from pipecat_gemini_live.apps.transports.wav import load_wav
from pipelines.twilio_bot import TwilioBotConfig, TwilioCall, create_app

from ..conftest import build_call

AUTH_TOKEN = "tw-auth-Secret-7f3a9c"


async def wait_finished(calls: list[TwilioCall], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not (calls and all(c.worker.has_finished() for c in calls)):
        assert time.monotonic() < deadline, (
            "the bot's pipeline did not finish after the caller hung up"
        )
        await asyncio.sleep(0.05)


def fake_twilio_rest(hangups: list[dict]) -> FastAPI:
    """Twilio's Calls API, as far as a hang-up goes (on loopback)."""
    app = FastAPI()

    @app.post("/2010-04-01/Accounts/{account}/Calls/{call}.json")
    async def update_call(account: str, call: str, request: Request):
        form = dict(x.split("=", 1) for x in (await request.body()).decode().split("&") if x)
        hangups.append(
            {
                "account": account,
                "call": call,
                "form": form,
                "auth": request.headers.get("authorization"),
            }
        )
        return {"sid": call, "status": "completed"}

    return app


async def test_a_signed_call_is_answered_on_every_turn(tmp_path):
    caller = load_wav(
        build_call(
            tmp_path / "caller.wav",
            [0.5, "cards_001.wav", 3.6, "cards_003.wav", 3.6],
            rate=8000,
            subtype="ULAW",
        )
    )
    turns = caller_segments(caller)
    assert len(turns) == 2
    logs: list[str] = []
    sink = logger.add(lambda m: logs.append(str(m)), level="TRACE")
    calls: list[TwilioCall] = []
    identity = StreamIdentity()
    try:
        config = EmulatorConfig(think_ms=100, words_per_minute=400)
        async with LiveEmulator(config) as emu:
            port = free_port()
            bot = TwilioBotConfig(
                auth_token=AUTH_TOKEN, public_url=f"http://127.0.0.1:{port}", system_instruction="Be brief."
            )
            async with serve(create_app(bot, emulator=emu, on_call=calls.append), port=port) as served:
                answer = await post_webhook(
                    served,
                    identity.call_sid,
                    auth_token=AUTH_TOKEN,
                    account_sid=identity.account_sid,
                )
                assert answer.status_code == 200
                token = stream_token(answer.text)
                result = await place_call(
                    served,
                    frames=ulaw_frames(caller),
                    identity=identity,
                    token=token,
                    config=SessionConfig(response_timeout_s=10.0, quiet_period_s=1.0),
                )
                await wait_finished(calls)
            records = list(emu.records)
    finally:
        logger.remove(sink)

    assert result.violations == [] and result.closed_by is None
    # Every caller turn gets spoken audio back after the caller stopped and before they spoke again.
    arrivals = [
        (e.at - result.started_at, e.detail["bytes"]) for e in result.events_of("media_received")
    ]
    ulaw = result.audio_received
    for i, (_, end) in enumerate(turns):
        limit = turns[i + 1][0] if i + 1 < len(turns) else float("inf")
        reply = [a for a in arrivals if end < a[0] < limit]
        assert reply, f"no bot audio after caller turn {i + 1}"
        assert 0.3 < reply[0][0] - end < 1.5, "the reply came at an unlikely time"
    pcm = np.frombuffer(audioop.ulaw2lin(ulaw, 2), dtype=np.int16).astype(float)
    assert np.sqrt(np.mean(pcm**2)) > 500  # spoken, not silence
    (record,) = records
    assert [r.interrupted for r in record.replies] == [False, False]
    assert record.client_close_code == 1000
    # No secret reached the logs.
    text = "\n".join(logs)
    assert "twilio-bot: call" in text  # the sink did see the call
    for secret in (AUTH_TOKEN, emu.api_key, token):
        assert secret not in text


async def test_a_call_the_service_cannot_answer_is_hung_up_through_twilios_api(tmp_path):
    caller = load_wav(
        build_call(tmp_path / "caller.wav", [0.5, "cards_001.wav", 6.0], rate=8000, subtype="ULAW")
    )
    hangups: list[dict] = []
    calls: list[TwilioCall] = []
    identity = StreamIdentity()
    async with LiveEmulator() as emu, serve(fake_twilio_rest(hangups)) as twilio_api:
        # The emulator refuses an unknown model (close 1008), as Google's endpoint does.
        port = free_port()
        bot = TwilioBotConfig(
            auth_token=AUTH_TOKEN,
            public_url=f"http://127.0.0.1:{port}",
            twilio_api_base_url=twilio_api.base_url,
            model="no-such-model",
        )
        async with serve(create_app(bot, emulator=emu, on_call=calls.append), port=port) as served:
            started = time.monotonic()
            result = await place_call(
                served,
                frames=ulaw_frames(caller),
                identity=identity,
                auth_token=AUTH_TOKEN,
                config=SessionConfig(response_timeout_s=10.0),
            )
            await wait_finished(calls)
    # The bot ended the call at once instead of leaving the caller in silence...
    assert result.closed_by == "agent"
    heard = np.frombuffer(audioop.ulaw2lin(result.audio_received, 2), dtype=np.int16)
    assert not heard.size or np.abs(heard).max() < 100  # nothing said
    assert time.monotonic() - started < 5.0
    # ...and hung it up through Twilio's API, with the account's credentials.
    assert [(h["account"], h["call"], h["form"]) for h in hangups] == [
        (identity.account_sid, identity.call_sid, {"Status": "completed"})
    ]
    assert (
        base64.b64decode(hangups[0]["auth"].split()[1]).decode()
        == f"{identity.account_sid}:{AUTH_TOKEN}"
    )


async def test_barge_in_sends_twilio_a_clear(tmp_path):
    def say(name: str) -> Say:
        path = build_call(tmp_path / f"{name}.8k.wav", [name], rate=8000, subtype="ULAW")
        return Say(Path(path), ulaw_frames(load_wav(path)))

    scenario = Scenario(
        name="caller interrupts the reply",
        steps=[
            Wait(0.4),
            say("cards_005.wav"),
            WaitFor("audio", 5.0),
            Wait(0.5),
            say("cards_003.wav"),
            Expect("clear"),
            Wait(1.0),
        ],
    )
    calls: list[TwilioCall] = []
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=1.0)) as emu:
        async with serve(
            create_app(TwilioBotConfig(), emulator=emu, on_call=calls.append)
        ) as served:
            result = await place_call(
                served, scenario=scenario, config=SessionConfig(response_timeout_s=10.0)
            )
            await wait_finished(calls)
        replies = [r for rec in emu.records for r in rec.replies]
    assert result.first_audio_at is not None
    assert result.clears_received >= 1, "no clear after the caller barged in"
    assert result.failed_expectations == []
    assert replies and replies[0].interrupted
    (clear,) = result.events_of("clear_received")[:1]
    first_audio = result.first_audio_at
    assert clear.at - first_audio > 0.5  # after the caller started talking over the bot
    assert clear.at - first_audio < 0.5 + 1.6 + 1.0  # and while they were still talking


async def test_the_webhook_refuses_unsigned_and_forged_requests():
    async def post(app, url: str, form: dict, signature: str | None):
        headers = {"X-Twilio-Signature": signature} if signature is not None else {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1:8000"
        ) as client:
            return await client.post(url, data=form, headers=headers)

    # Signatures cover the public URL; a signing app must be told it, not guess it from headers.
    with pytest.raises(ValueError, match="PUBLIC_URL is required"):
        create_app(TwilioBotConfig(auth_token=AUTH_TOKEN))
    app = create_app(TwilioBotConfig(auth_token=AUTH_TOKEN, public_url="http://127.0.0.1:8000"))
    url = "http://127.0.0.1:8000/twiml"
    form = webhook_form("CA" + "1" * 32)
    good = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    forged = RequestValidator("not-the-token").compute_signature(url, form)
    assert (await post(app, "/twiml", form, None)).status_code == 403
    assert (await post(app, "/twiml", form, "")).status_code == 403
    assert (await post(app, "/twiml", form, forged)).status_code == 403
    assert (
        await post(app, "/twiml", {**form, "CallSid": "CA" + "2" * 32}, good)
    ).status_code == 403  # tampered
    ok = await post(app, "/twiml", form, good)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/xml")
    assert f'<Connect><Stream url="ws://127.0.0.1:8000/media-stream/{form["CallSid"]}">' in ok.text
    assert len(stream_token(ok.text)) >= 40
    no_call = {k: v for k, v in form.items() if k != "CallSid"}
    assert (
        await post(
            app, "/twiml", no_call, RequestValidator(AUTH_TOKEN).compute_signature(url, no_call)
        )
    ).status_code == 400
    # Behind a tunnel, the signature covers the public URL, and the stream URL is wss://.
    public = create_app(
        TwilioBotConfig(auth_token=AUTH_TOKEN, public_url="https://bot.example.com")
    )
    signed = RequestValidator(AUTH_TOKEN).compute_signature("https://bot.example.com/twiml", form)
    answer = await post(public, "/twiml", form, signed)
    assert answer.status_code == 200 and 'url="wss://bot.example.com/media-stream/CA' in answer.text
    assert (await post(public, "/twiml", form, good)).status_code == 403


async def test_streams_without_a_valid_token_are_refused():
    silence = [b"\xff" * 160] * 25
    config = SessionConfig(response_timeout_s=2.0, quiet_period_s=0.2)
    calls: list[TwilioCall] = []
    async with LiveEmulator() as emu:
        async with serve(
            create_app(TwilioBotConfig(), emulator=emu, on_call=calls.append)
        ) as served:
            # Twilio's own opening, straight from a WebSocket client: no token, close 1008.
            async with websockets.connect(served.stream_url) as ws:
                await ws.send(
                    json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})
                )
                await ws.send(
                    json.dumps(
                        {
                            "event": "start",
                            "sequenceNumber": "1",
                            "streamSid": "MZ1",
                            "start": {"streamSid": "MZ1", "callSid": "CA1", "customParameters": {}},
                        }
                    )
                )
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 5.0)
                assert closed.value.rcvd.code == 1008
            refused = [
                await place_call(served, frames=silence, token=None, config=config),
                await place_call(served, frames=silence, token="forged-token", config=config),
            ]
            issued = stream_token((await post_webhook(served, "CA" + "5" * 32)).text)
            other = StreamIdentity(call_sid="CA" + "6" * 32)
            refused.append(
                await place_call(
                    served, frames=silence, token=issued, identity=other, config=config
                )
            )
            # The call it was issued for may use it (a wrong CallSid did not use it up)...
            own = StreamIdentity(call_sid="CA" + "5" * 32)
            admitted = await place_call(
                served, frames=silence, token=issued, identity=own, config=config
            )
            await wait_finished(calls)
            # ...once.
            refused.append(
                await place_call(served, frames=silence, token=issued, identity=own, config=config)
            )
        # One pipeline and one Live session, for the admitted stream; none for the others.
        assert len(calls) == 1 and calls[0].start.call_sid == own.call_sid
        assert len(emu.records) <= 1 and admitted.closed_by is None
    for result in refused:
        assert (
            result.closed_by == "agent" and result.closed_before_audio and not result.audio_received
        )


def test_config_comes_from_the_environment_and_keeps_secrets_out_of_its_repr():
    env = {
        "GOOGLE_API_KEY": "AIza-secret-key",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_URL": "https://bot.example.com",
        "GEMINI_MODEL": "gemini-3.1-flash-live-preview",
        "STREAM_TOKEN_SECRET": "shared-by-the-workers",
    }
    config = TwilioBotConfig.from_env(env)
    assert config.api_key == "AIza-secret-key" and config.auth_token == AUTH_TOKEN
    assert config.public_url == "https://bot.example.com"
    assert config.model == "gemini-3.1-flash-live-preview"
    assert config.audio.quality == "polyphase"  # the low-latency telephony path by default
    assert config.stream_token_secret == "shared-by-the-workers"
    for secret in ("AIza-secret-key", AUTH_TOKEN, "shared-by-the-workers"):
        assert secret not in repr(config)
    empty = TwilioBotConfig.from_env({})
    assert empty.api_key is None and empty.auth_token is None  # the emulator, unsigned webhooks


async def test_a_stream_may_reach_another_worker_than_its_webhook(tmp_path):
    """Two app instances with the same key stand in for two uvicorn workers."""
    bot = TwilioBotConfig(stream_token_secret="shared-by-the-workers")
    calls: list[TwilioCall] = []
    async with LiveEmulator(EmulatorConfig(think_ms=50)) as emu:
        async with (
            serve(create_app(bot, emulator=emu)) as webhook_worker,
            serve(create_app(bot, emulator=emu, on_call=calls.append)) as stream_worker,
        ):
            identity = StreamIdentity()
            token = stream_token((await post_webhook(webhook_worker, identity.call_sid)).text)
            caller = build_call(
                tmp_path / "c.wav", [0.3, "cards_001.wav", 2.0], rate=8000, subtype="ULAW"
            )
            frames = ulaw_frames(load_wav(caller))
            result = await place_call(
                stream_worker,
                frames=frames,
                identity=identity,
                token=token,
                config=SessionConfig(response_timeout_s=5.0, quiet_period_s=0.5),
            )
            await wait_finished(calls)
    assert result.closed_by is None and result.audio_received and len(calls) == 1
