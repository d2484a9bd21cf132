"""The browser bot's server against a Python WebRTC peer (aiortc): signalling, limits, lifecycle.

Fast and browser-free; the full browser call is tests/e2e/test_webrtc_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest
import uvicorn
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from pipecat_gemini_live.bots import LiveBackend, messages
from gemini_live_emulator import EmulatorConfig
from pipelines.webrtc_bot import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := await predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
    return result


class Peer:
    """A minimal SmallWebRTC client: microphone (silence) + data channel, like the page."""

    def __init__(self):
        self.pc = RTCPeerConnection()
        self.pc.addTrack(AudioStreamTrack())
        self.dc = self.pc.createDataChannel("messages", ordered=True)
        self.received: list[dict] = []
        self.dc.on("message", lambda m: self.received.append(json.loads(m)))

    async def offer(self) -> dict:
        await self.pc.setLocalDescription(await self.pc.createOffer())  # aiortc gathers first
        return {"sdp": self.pc.localDescription.sdp, "type": "offer", "pc_id": None}

    def of(self, kind: str) -> list[dict]:
        return [m for m in self.received if m.get("label") == messages.MESSAGE_LABEL and m.get("type") == kind]


@pytest.fixture
async def served():
    backend = LiveBackend(None, emulator_config=EmulatorConfig(think_ms=100))
    app = create_app(backend, max_calls=1)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    await until(lambda: asyncio.sleep(0, server.started), 15, "the server to start")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        yield app, backend, http
    server.should_exit = True
    await asyncio.wait_for(task, 15)


@pytest.mark.timeout(60)
async def test_call_over_webrtc_then_hang_up(served):
    app, backend, http = served
    assert (await http.get("/api/status")).json() == {"backend": "emulator", "active_calls": 0, "max_calls": 1}
    page = await http.get("/")
    assert page.status_code == 200 and "/static/client.js" in page.text
    script = await http.get("/static/client.js")
    assert script.status_code == 200 and "RTCPeerConnection" in script.text
    # Works offline: the page loads nothing from other hosts.
    assert "://" not in page.text and "://" not in script.text

    peer = Peer()
    answer = await http.post("/api/offer", json=await peer.offer())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["type"] == "answer" and body["pc_id"]
    await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))

    async def ready():
        return peer.of("bot-ready")

    (hello,) = await until(ready, 15, "bot-ready over the data channel")
    assert hello["persona"] == "assistant" and {p["name"] for p in hello["personas"]} == {
        "assistant",
        "pirate",
        "concierge",
    }
    assert (await http.get("/api/status")).json()["active_calls"] == 1

    # The one call this server allows is taken; a malformed request is refused first.
    other = Peer()
    refused = await http.post("/api/offer", json=await other.offer())
    assert refused.status_code == 503 and "limit of 1 calls" in refused.text
    wrong = await http.post("/api/offer", json={"sdp": "v=0", "type": "answer", "pc_id": None})
    assert wrong.status_code == 400 and "expected an SDP offer" in wrong.text
    await other.pc.close()

    # A persona switch over the data channel.
    peer.dc.send(json.dumps({"label": messages.MESSAGE_LABEL, "type": "persona", "name": "concierge"}))

    async def changed():
        return peer.of("persona-changed")

    (switch,) = await until(changed, 15, "persona-changed")
    assert switch["ok"] and switch["name"] == "concierge"

    # The peer hangs up: the server ends the call and closes its Live sessions normally.
    await peer.pc.close()

    async def idle():
        return (await http.get("/api/status")).json()["active_calls"] == 0

    await until(idle, 15, "the server to end the call")
    records = backend.emulator.records
    assert records and all(r.client_close_code == 1000 for r in records), [r.client_close_code for r in records]
    assert records[-1].setup["systemInstruction"]["parts"][0]["text"].startswith("You are a polite hotel concierge")
