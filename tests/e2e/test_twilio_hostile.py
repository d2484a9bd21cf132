"""The Twilio bot against hostile and careless clients: every refusal is clear, memory stays
bounded, no traceback reaches the logs, and the next genuine call is still answered.

All on loopback: the bot under uvicorn (with the WebSocket limits it is meant to run with), raw
HTTP and WebSocket clients for the bad requests, streamdouble for the good calls.
"""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
import websockets
from loguru import logger
from streamdouble.protocol import StreamIdentity
from streamdouble.session import SessionConfig
from twilio.request_validator import RequestValidator

from bench.harness import (
    free_port,
    place_call,
    post_webhook,
    serve,
    stream_target,
    stream_token,
    webhook_form,
)
from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipelines.twilio_bot import TwilioBotConfig, TwilioCall, create_app, uvicorn_options

AUTH_TOKEN = "tw-auth-Hostile-91bc"
SILENCE = [b"\xff" * 160] * 25  # 0.5 s of mu-law silence


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


class Logs:
    """Every loguru line (with tracebacks) and every uvicorn error record, while in the block."""

    def __init__(self):
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []

    def __enter__(self):
        self._sink = logger.add(lambda m: self.lines.append(str(m)), level="DEBUG")
        self._handler = logging.Handler(logging.WARNING)
        self._handler.emit = self.records.append
        logging.getLogger("uvicorn").addHandler(self._handler)
        return self

    def __exit__(self, *exc):
        logger.remove(self._sink)
        logging.getLogger("uvicorn").removeHandler(self._handler)

    def assert_clean(self):
        text = "\n".join(self.lines)
        assert "Traceback" not in text, text[-3000:]
        assert not [r for r in self.records if r.levelno >= logging.ERROR], [r.getMessage() for r in self.records]
        assert AUTH_TOKEN not in text


async def good_call(served, calls: list[TwilioCall]) -> None:
    """A genuine signed call, answered with bot audio."""
    before = len(calls)
    result = await place_call(
        served,
        frames=SILENCE * 2,
        auth_token=AUTH_TOKEN,
        config=SessionConfig(response_timeout_s=5.0, quiet_period_s=0.2),
    )
    assert result.closed_by is None and not result.closed_before_audio, result
    assert len(calls) == before + 1


def start_json(identity: StreamIdentity, token: str | None, **start) -> str:
    body = {
        "accountSid": identity.account_sid,
        "streamSid": identity.stream_sid,
        "callSid": identity.call_sid,
        "tracks": ["inbound"],
        "customParameters": {"token": token} if token else {},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    }
    body.update(start)
    return json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": identity.stream_sid, "start": body})


async def closed_with(url: str, *messages: str | bytes) -> websockets.frames.Close:
    """Open a stream, send ``messages``, return the server's close frame."""
    async with websockets.connect(url, max_size=None) as ws:
        for m in messages:
            await ws.send(m)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5.0)
    assert closed.value.rcvd is not None, "no close frame"
    return closed.value.rcvd


def signed_bot(port: int, **kwargs) -> TwilioBotConfig:
    return TwilioBotConfig(auth_token=AUTH_TOKEN, public_url=f"http://127.0.0.1:{port}", **kwargs)


@pytest.fixture
async def bot():
    """A signing bot on a known loopback port, run with its WebSocket limits; its calls; the logs."""
    calls: list[TwilioCall] = []
    port = free_port()
    # Hang-ups (the bot ending a call) go to a closed loopback port, never to Twilio.
    config = signed_bot(port, max_pending_streams=4, max_streams=8, twilio_api_base_url="http://127.0.0.1:9")
    with Logs() as logs:
        async with LiveEmulator(EmulatorConfig(think_ms=50)) as emu:
            app = create_app(config, emulator=emu, on_call=calls.append)
            app.state.test_logs = logs
            async with serve(app, port=port, **uvicorn_options()) as served:
                yield served, calls, app, emu
        logs.assert_clean()


@pytest.mark.timeout(90)
async def test_the_webhook_refuses_big_bodies_before_reading_them(bot):
    served, calls, app, _ = bot
    before = rss_mb()
    async with httpx.AsyncClient(base_url=served.base_url, timeout=20) as http:
        declared = await http.post(
            "/twiml", content=b"CallSid=" + b"A" * (32 << 20), headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert declared.status_code == 413 and "over 16384 bytes" in declared.text

        async def chunked():
            for _ in range(200):  # 200 MiB if it were all read
                yield b"B" * (1 << 20)

        streamed = await http.post("/twiml", content=chunked())
        assert streamed.status_code == 413
    assert rss_mb() - before < 80, "the webhook buffered an oversized body"
    await good_call(served, calls)


async def test_signatures_cover_the_public_url_whatever_the_proxy_headers_say():
    config = TwilioBotConfig(auth_token=AUTH_TOKEN, public_url="https://bot.example.com")
    app = create_app(config)
    form = webhook_form("CA" + "a" * 32)
    validator = RequestValidator(AUTH_TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://10.0.0.5:8000") as http:
        # A request Twilio signed for another URL of the account does not pass by naming that host.
        other = validator.compute_signature("https://evil.example/twiml", form)
        forged = await http.post(
            "/twiml",
            data=form,
            headers={"X-Twilio-Signature": other, "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
        )
        assert forged.status_code == 403
        # Chained proxies (each appending to X-Forwarded-Proto) do not break genuine requests.
        genuine = validator.compute_signature("https://bot.example.com/twiml", form)
        ok = await http.post(
            "/twiml",
            data=form,
            headers={"X-Twilio-Signature": genuine, "X-Forwarded-Proto": "https,http", "X-Forwarded-Host": "a, b"},
        )
        assert ok.status_code == 200
        assert stream_target(ok.text) == f"wss://bot.example.com/media-stream/{form['CallSid']}"
        bad_sid = {**form, "CallSid": "CA../../x"}
        refused = await http.post(
            "/twiml",
            data=bad_sid,
            headers={"X-Twilio-Signature": validator.compute_signature("https://bot.example.com/twiml", bad_sid)},
        )
        assert refused.status_code == 400 and "malformed CallSid" in refused.text


@pytest.mark.timeout(90)
async def test_media_stream_frames_and_sockets_are_capped_before_start(bot):
    served, calls, app, _ = bot
    before = rss_mb()
    # A frame over the opening limit: closed 1009 with a reason, nothing admitted.
    close = await closed_with(served.stream_url, "x" * 10_000)
    assert close.code == 1009 and "before start was over" in close.reason
    # A frame over the server's WebSocket limit is refused by uvicorn as it arrives.
    for _ in range(3):
        close = await closed_with(served.stream_url, "y" * (15 << 20))
        assert close.code == 1009
    # Idle sockets that never send start: at most max_pending_streams of them.
    idle = [await websockets.connect(served.stream_url) for _ in range(4)]
    with pytest.raises(websockets.InvalidStatus) as busy:
        await websockets.connect(served.stream_url)
    assert busy.value.response.status_code == 403
    assert app.state.gate.pending == 4
    for ws in idle:
        await ws.close()
    for _ in range(50):
        if app.state.gate.pending == 0:
            break
        await asyncio.sleep(0.05)
    assert app.state.gate.pending == 0
    assert rss_mb() - before < 80
    await good_call(served, calls)
    assert len(calls) == 1


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    "start,field",
    [
        ({"mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": "abc", "channels": 1}}, "sampleRate"),
        ({"mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": [1]}}, "channels"),
        ({"mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 0, "channels": 1}}, "sampleRate"),
        ({"mediaFormat": "x"}, "mediaFormat"),
        ({"mediaFormat": {"encoding": "audio/x-l16", "sampleRate": 16000, "channels": 1}}, "unsupported media"),
        ({"callSid": 123}, "callSid"),
    ],
)
async def test_malformed_starts_close_1008_with_a_reason(bot, start, field):
    served, calls, app, _ = bot
    logs = app.state.test_logs
    identity = StreamIdentity()
    answer = await post_webhook(served, identity.call_sid, auth_token=AUTH_TOKEN)
    url, token = stream_target(answer.text), stream_token(answer.text)
    close = await closed_with(url, json.dumps({"event": "connected"}), start_json(identity, token, **start))
    assert close.code == 1008 and field in close.reason, close
    inf = start_json(identity, token).replace('"sampleRate": 8000', '"sampleRate": Infinity')
    close = await closed_with(url, inf)
    assert close.code == 1008 and "not JSON" in close.reason
    # A client that leaves before start: one line, no traceback.
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"event": "connected"}))
    for _ in range(50):
        if app.state.gate.pending == 0:
            break
        await asyncio.sleep(0.05)
    left = [line for line in logs.lines if "media stream left before it was admitted" in line]
    assert len(left) == 1 and "Traceback" not in left[0]
    assert calls == [] and app.state.gate.pending == 0
    await good_call(served, calls)


@pytest.mark.timeout(90)
async def test_a_replayed_webhook_cannot_run_two_streams_for_one_call(bot):
    served, calls, app, emu = bot
    identity = StreamIdentity()
    # Twilio's signature has no nonce: the same signed webhook, replayed, mints fresh tokens.
    answers = [await post_webhook(served, identity.call_sid, auth_token=AUTH_TOKEN) for _ in range(3)]
    tokens = [stream_token(a.text) for a in answers]
    assert len(set(tokens)) == 3
    url = stream_target(answers[0].text)
    assert url.endswith("/media-stream/" + identity.call_sid)
    first = asyncio.create_task(
        place_call(
            served,
            frames=SILENCE * 8,
            identity=identity,
            token=tokens[0],
            config=SessionConfig(response_timeout_s=5.0, quiet_period_s=0.2),
        )
    )
    for _ in range(100):
        if app.state.gate.live:
            break
        await asyncio.sleep(0.05)
    assert app.state.gate.live == 1
    # While it streams, the replays' tokens are refused...
    for token in tokens[1:]:
        close = await closed_with(url, start_json(identity, token))
        assert close.code == 1008 and "already has a live stream" in close.reason
    # ...and a stream whose start names another call than its URL is refused too.
    other = StreamIdentity()
    other_token = stream_token((await post_webhook(served, other.call_sid, auth_token=AUTH_TOKEN)).text)
    close = await closed_with(url, start_json(other, other_token))
    assert close.code == 1008 and "another call" in close.reason
    result = await first
    assert result.closed_by is None and len(calls) == 1 and len(emu.records) == 1
    await good_call(served, calls)
