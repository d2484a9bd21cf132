"""The bots' ``bot(runner_args)`` entries, as Pipecat's runner (and Pipecat Cloud) call them.

A small FastAPI app stands in for the runner: it accepts the media-stream WebSocket (or answers
the WebRTC offer) itself and hands the connection to ``bot()`` in Pipecat's own argument types.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from aiortc import RTCSessionDescription
from fastapi import FastAPI, Request, WebSocket
from pipecat.runner.types import SmallWebRTCRunnerArguments, WebSocketRunnerArguments
from pipecat.transports.smallwebrtc.request_handler import SmallWebRTCRequest, SmallWebRTCRequestHandler
from streamdouble.session import SessionConfig

from bench.harness import place_call, serve
from pipelines import twilio_bot, webrtc_bot

from ..integration.test_webrtc_app import Peer, until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


async def test_the_twilio_bot_runs_a_call_handed_over_by_the_runner():
    app = FastAPI()

    @app.websocket("/media-stream")
    async def stream(websocket: WebSocket):
        await websocket.accept()
        await twilio_bot.bot(WebSocketRunnerArguments(websocket=websocket))

    try:
        async with serve(app) as served:
            result = await place_call(
                served,
                frames=[b"\xff" * 160] * 50,
                token=None,  # the platform's webhook admitted the call
                config=SessionConfig(response_timeout_s=5.0, quiet_period_s=0.3),
            )
            assert result.closed_by is None and not result.closed_before_audio
            # The start message is still validated.
            async with websockets.connect(served.stream_url) as ws:
                await ws.send(json.dumps({"event": "start", "start": {"callSid": 5}}))
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd.code == 1008 and "callSid" in closed.value.rcvd.reason
    finally:
        await twilio_bot._runner_backend.stop()


async def test_the_browser_bot_runs_a_call_handed_over_by_the_runner():
    handler = SmallWebRTCRequestHandler(ice_servers=[])
    tasks: list[asyncio.Task] = []
    app = FastAPI()

    @app.post("/api/offer")
    async def offer(request: Request):
        body = await request.json()

        async def start(connection):
            tasks.append(asyncio.create_task(webrtc_bot.bot(SmallWebRTCRunnerArguments(webrtc_connection=connection))))

        return await handler.handle_web_request(SmallWebRTCRequest(**body), start)

    peer = Peer()
    try:
        async with serve(app) as served, httpx.AsyncClient(base_url=served.base_url, timeout=10) as http:
            answer = (await http.post("/api/offer", json=await peer.offer())).json()
            await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))

            async def ready():
                return peer.of("bot-ready")

            await until(ready, 15, "bot-ready")
            await peer.pc.close()
            await asyncio.wait_for(asyncio.gather(*tasks), 15)  # the call ends when the peer leaves
            await handler.close()
    finally:
        await peer.pc.close()
        await webrtc_bot._runner_backend.stop()
