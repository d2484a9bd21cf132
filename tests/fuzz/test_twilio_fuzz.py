"""Fuzzing the Twilio bot's webhook and media stream (loopback, bounded in examples and time).

Invariants: every hostile request gets a clear refusal (an HTTP status or a close code with a
reason, never a 500 or 1011), no unhandled exception is logged, the sockets, tasks and memory
come back after the run, and a genuine signed call is still answered.
"""

from __future__ import annotations

import asyncio
import json
import secrets

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from streamdouble.protocol import StreamIdentity
from streamdouble.session import SessionConfig
from twilio.request_validator import RequestValidator
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bench.harness import Served, free_port, place_call, stream_target, stream_token
from pipelines.twilio_bot import TwilioBotConfig, create_app, uvicorn_options

from .harness import Baseline, CapturedLogs, ThreadedServer
from .strategies import LONG_RUN, fuzz_settings, json_values, twilio_events, ws_messages

AUTH_TOKEN = "tw-auth-Fuzz-0d5e"
CLOSE_CODES = {1008, 1009, 1013}

pytestmark = [pytest.mark.timeout(7200 if LONG_RUN else 300), pytest.mark.xdist_group("fuzz-twilio")]


class Bot:
    def __init__(self, server: ThreadedServer, logs: CapturedLogs):
        self.server = server
        self.logs = logs
        self.url = server.base_url
        self.stream_url = self.url.replace("http://", "ws://") + "/media-stream"
        self.gate = server.app.state.gate

    def webhook(self, call_sid: str) -> httpx.Response:
        form = {"CallSid": call_sid, "AccountSid": "AC" + "0" * 32, "From": "+15550001111"}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(self.url + "/twiml", form)
        return httpx.post(self.url + "/twiml", data=form, headers={"X-Twilio-Signature": signature}, timeout=10)

    def idle(self) -> bool:
        return self.gate.pending == 0 and self.gate.live == 0


@pytest.fixture(scope="module")
def bot():
    """The production configuration: signed webhooks, a public URL, the WebSocket limits."""
    port = free_port()
    config = TwilioBotConfig(
        auth_token=AUTH_TOKEN,
        public_url=f"http://127.0.0.1:{port}",
        think_ms=50,
        # Hang-ups go to a closed loopback port, never to Twilio.
        twilio_api_base_url="http://127.0.0.1:9",
        max_pending_streams=8,
        max_streams=16,
    )
    with CapturedLogs() as logs:
        server = ThreadedServer(create_app(config), port=port, **uvicorn_options()).start()
        try:
            yield Bot(server, logs)
        finally:
            server.stop()
    assert logs.unhandled() == []


def good_call(bot: Bot) -> None:
    async def call():
        return await place_call(
            Served(bot.url),
            frames=[b"\xff" * 160] * 40,
            auth_token=AUTH_TOKEN,
            config=SessionConfig(response_timeout_s=5.0, quiet_period_s=0.2),
        )

    result = asyncio.run(call())
    assert result.closed_by is None and not result.closed_before_audio


def _send_all(ws, messages) -> int | None:
    """Send ``messages``; return the server's close code, or None if it kept the socket open.

    After each message the client looks for the server's answer first: writing into a socket
    the server has closed gets a TCP reset, which can swallow the close frame before it is read.
    """
    try:
        for m in messages:
            ws.send(m)
            try:
                ws.recv(timeout=0.1)
            except TimeoutError:
                pass
        ws.recv(timeout=1.0)
    except TimeoutError:
        return None
    except ConnectionClosed as e:
        return e.rcvd.code if e.rcvd else -1
    return None


def test_fuzz_webhook(bot):
    before = Baseline(bot.server)

    @fuzz_settings(seeds=60)
    @given(
        form=st.dictionaries(st.sampled_from(["CallSid", "AccountSid", "From", "x"]) | st.text(max_size=10),
                             st.text(max_size=80), max_size=6),
        raw=st.none() | st.binary(max_size=2000),
        sign=st.booleans(),
        signature=st.text(max_size=60),
        content_type=st.sampled_from(["application/x-www-form-urlencoded", "text/plain", "application/json", ""]),
    )
    @example(form={"CallSid": "CA" + "1" * 32}, raw=None, sign=True, signature="", content_type="application/x-www-form-urlencoded")
    @example(form={}, raw=b"CallSid=" + b"%" * 1999, sign=False, signature="", content_type="text/plain")
    def run(form, raw, sign, signature, content_type):
        headers = {"content-type": content_type} if content_type else {}
        if sign and raw is None:
            signature = RequestValidator(AUTH_TOKEN).compute_signature(bot.url + "/twiml", form)
        headers["X-Twilio-Signature"] = signature.encode("utf-8", "replace")
        try:
            if raw is None:
                r = httpx.post(bot.url + "/twiml", data=form, headers=headers, timeout=10)
            else:
                r = httpx.post(bot.url + "/twiml", content=raw, headers=headers, timeout=10)
        except httpx.LocalProtocolError:
            return  # the client refused to send that header
        allowed = {200, 400} if sign and raw is None else {400, 403, 413}
        assert r.status_code in allowed, (r.status_code, r.text)

    run()
    print(before.check(bot.idle))
    assert bot.logs.unhandled() == []
    good_call(bot)


def test_fuzz_media_stream_opening(bot):
    before = Baseline(bot.server)

    @fuzz_settings(seeds=60)
    @given(messages=st.lists(ws_messages, max_size=5), token_from_webhook=st.booleans())
    @example(messages=['{"event":"start","start":{"callSid":123}}'], token_from_webhook=False)
    @example(messages=[b"\x00" * 300], token_from_webhook=False)
    def run(messages, token_from_webhook):
        url = bot.stream_url
        if token_from_webhook:
            # A valid token and stream URL for a real call, then a fuzzed opening.
            call_sid = "CA" + secrets.token_hex(16)
            answer = bot.webhook(call_sid)
            url, token = stream_target(answer.text), stream_token(answer.text)
            messages = [m.replace("TOKEN", token) if isinstance(m, str) else m for m in messages]
        with connect(url, open_timeout=5, max_size=None) as ws:
            code = _send_all(ws, messages)
        assert code is None or code in CLOSE_CODES, code

    run()
    print(before.check(bot.idle))
    assert bot.logs.unhandled() == []
    good_call(bot)


def test_fuzz_admitted_stream(bot):
    """Junk after an admitted start: the call's pipeline (Pipecat's serializer) takes it."""
    before = Baseline(bot.server)

    @fuzz_settings(seeds=10)
    @given(messages=st.lists(twilio_events.map(json.dumps) | st.text(max_size=100) | json_values.map(json.dumps), max_size=8))
    def run(messages):
        identity = StreamIdentity()
        token = stream_token(bot.webhook(identity.call_sid).text)
        start = {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": identity.stream_sid,
            "start": {
                "streamSid": identity.stream_sid,
                "callSid": identity.call_sid,
                "accountSid": identity.account_sid,
                "customParameters": {"token": token},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
        with connect(f"{bot.stream_url}/{identity.call_sid}", open_timeout=5) as ws:
            code = _send_all(ws, [json.dumps({"event": "connected"}), json.dumps(start), *messages])
        assert code is None or code in CLOSE_CODES | {1000}, code

    run()
    print(before.check(bot.idle))
    assert bot.logs.unhandled() == []
    good_call(bot)
