"""The ready bots' ``bot(runner_args)`` entries when Pipecat's evals harness is the caller.

A small FastAPI app stands in for the runner's ``/ws`` route, as in test_runner_entries.py. The
harness opens with its ``eval-connect`` message and then speaks RTVI, so a bot that serves it
answers the harness's ``client-ready`` with ``bot-ready`` (the handshake every eval starts
with); `make eval` plays whole scenarios.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
import websockets
from fastapi import FastAPI, WebSocket
from pipecat.evals.serializer import EvalConnectionFlags, eval_connect_message
from pipecat.runner.types import WebSocketRunnerArguments

from bench.harness import serve
from pipelines import daily_bot, twilio_bot, webrtc_bot
from pipelines.eval_calls import EVALS_ENV, EVALS_OFF, eval_connect_flags, evals_enabled

pytestmark = pytest.mark.timeout(60)

CLIENT_READY = json.dumps(
    {"label": "rtvi-ai", "type": "client-ready", "id": "c1", "data": {"version": "1.0.0", "about": {}}}
)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(EVALS_ENV, "on")  # the tests that check it is off say so


def test_eval_connect_is_told_from_a_twilio_opening():
    flags = eval_connect_flags(eval_connect_message(EvalConnectionFlags(skip_tts=True)))
    assert flags == EvalConnectionFlags(skip_tts=True)
    assert eval_connect_flags(json.dumps({"event": "connected", "protocol": "Call"})) is None
    assert eval_connect_flags("not json") is None
    bad = json.dumps(
        {"label": "rtvi-ai", "type": "client-message", "id": "x", "data": {"t": "eval-connect", "d": {"skip_tts": []}}}
    )
    with pytest.raises(ValueError):
        eval_connect_flags(bad)


@contextlib.asynccontextmanager
async def _bot_connection(module):
    """A WebSocket client connected to ``module.bot``, the connection handed over as Pipecat's
    runner hands it."""
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        await module.bot(WebSocketRunnerArguments(websocket=websocket))

    async with serve(app) as served:
        url = served.base_url.replace("http://", "ws://", 1) + "/ws"
        async with websockets.connect(url) as client:
            yield client


async def _bot_ready(module, first_message: str) -> dict:
    """Hand a connection to ``module.bot`` as the runner would; return the first RTVI reply."""
    try:
        async with _bot_connection(module) as client:
            await client.send(first_message)
            await client.send(CLIENT_READY)
            while True:
                message = json.loads(await asyncio.wait_for(client.recv(), 20))
                if message.get("type") in ("bot-ready", "error"):
                    return message
    finally:
        await module._runner_backend.stop()


@pytest.mark.parametrize("module", [twilio_bot, webrtc_bot, daily_bot], ids=lambda m: m.__name__)
async def test_a_bot_answers_the_harness_handshake(module):
    reply = await _bot_ready(module, eval_connect_message(EvalConnectionFlags()))
    assert reply["type"] == "bot-ready", reply


@pytest.mark.parametrize("module", [twilio_bot, webrtc_bot, daily_bot], ids=lambda m: m.__name__)
@pytest.mark.parametrize("setting", [None, "off", "0", ""])
async def test_a_bot_refuses_the_harness_unless_evals_are_enabled(module, setting, monkeypatch):
    if setting is None:
        monkeypatch.delenv(EVALS_ENV)
    else:
        monkeypatch.setenv(EVALS_ENV, setting)
    async with _bot_connection(module) as client:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            # The room bots close at once; the phone bot reads the eval-connect first.
            await client.send(eval_connect_message(EvalConnectionFlags()))
            await client.send(CLIENT_READY)
            while True:  # nothing but the close: no bot-ready
                assert json.loads(await asyncio.wait_for(client.recv(), 10)).get("type") != "bot-ready"
    assert closed.value.rcvd.code == 1008 and closed.value.rcvd.reason == EVALS_OFF[:120]
    assert not module._runner_backend.started  # no Live session was prepared for it


def test_evals_are_enabled_only_by_saying_so():
    assert not evals_enabled({})
    assert not evals_enabled({EVALS_ENV: "no"}) and not evals_enabled({EVALS_ENV: "enabled?"})
    assert all(evals_enabled({EVALS_ENV: v}) for v in ("on", "1", "TRUE", " yes "))


async def test_the_twilio_bot_refuses_an_eval_connect_with_bad_flags():
    bad = json.dumps(
        {"label": "rtvi-ai", "type": "client-message", "id": "x", "data": {"t": "eval-connect", "d": {"skip_tts": []}}}
    )
    async with _bot_connection(twilio_bot) as client:
        await client.send(bad)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(client.recv(), 10)
    assert closed.value.rcvd.code == 1008 and "eval-connect" in closed.value.rcvd.reason
    assert not twilio_bot._runner_backend.started  # refused before any Live session was prepared


async def test_the_twilio_bot_closes_a_stream_that_says_nothing():
    """Reading the first message to tell an eval from a call must not wait forever."""
    async with _bot_connection(twilio_bot) as client:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(client.recv(), 20)
    assert closed.value.rcvd.code == 1008 and "no message within 10 s" in closed.value.rcvd.reason
