"""The browser bot's server against a Python WebRTC peer (aiortc): signalling, limits, lifecycle.

Fast and browser-free; the full browser call is tests/e2e/test_webrtc_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from pipecat_gemini_live.apps.bots import LiveBackend, messages
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


@asynccontextmanager
async def serving(**kwargs):
    backend = LiveBackend(None, emulator_config=EmulatorConfig(think_ms=100))
    app = create_app(backend, **kwargs)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    await until(lambda: asyncio.sleep(0, server.started), 15, "the server to start")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        yield app, backend, http
    server.should_exit = True
    await asyncio.wait_for(task, 15)


@pytest.fixture
async def served():
    async with serving(max_calls=1) as s:
        yield s


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


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


async def good_call(http: httpx.AsyncClient, hold_s: float = 0.0, **headers) -> None:
    """A real peer gets an answer, connects and hears bot-ready; stays ``hold_s``; hangs up."""
    peer = Peer()
    try:
        answer = await http.post("/api/offer", json=await peer.offer(), headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))

        async def ready():
            return peer.of("bot-ready")

        await until(ready, 15, "bot-ready")
        await asyncio.sleep(hold_s)
        assert (await http.get("/api/status")).json()["active_calls"] >= 1, "a connected call was ended"
    finally:
        await peer.pc.close()


@pytest.mark.timeout(90)
async def test_garbage_offers_are_refused_before_any_call_starts():
    async with serving(max_calls=1) as (app, backend, http):
        calls = app.state.calls
        refusals = {
            "v=0 garbage": await http.post("/api/offer", json={"sdp": "v=0\r\ngarbage", "type": "offer"}),
            "empty sdp": await http.post("/api/offer", json={"sdp": "", "type": "offer"}),
            "empty body": await http.post("/api/offer", content=b""),
            "not json": await http.post("/api/offer", content=b"{sdp"),
            "a list": await http.post("/api/offer", json=[1]),
            "sdp not text": await http.post("/api/offer", json={"sdp": 5, "type": "offer"}),
            "no ice": await http.post(
                "/api/offer", json={"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "type": "offer"}
            ),
        }
        for name, r in refusals.items():
            assert r.status_code == 400, (name, r.status_code, r.text)
            assert r.json()["detail"], name
        assert "no audio section" in refusals["v=0 garbage"].json()["detail"]
        # Unknown pc_id: no new connection is built for it (Pipecat would), and no slot is used.
        peer = Peer()
        unknown = await http.post("/api/offer", json={**(await peer.offer()), "pc_id": "SmallWebRTCConnection#0-x"})
        assert unknown.status_code == 404 and "unknown pc_id" in unknown.text
        await peer.pc.close()
        patch = await http.patch("/api/offer", json={"pc_id": "nope", "candidates": []})
        assert patch.status_code == 404
        # Oversized offers are refused before they are read: declared, and streamed without a length.
        before = rss_mb()
        big = await http.post("/api/offer", content=b"x" * (8 << 20), headers={"content-type": "application/json"})
        assert big.status_code == 413

        async def chunks():
            for _ in range(64):
                yield b"y" * (1 << 20)

        streamed = await http.post("/api/offer", content=chunks())
        assert streamed.status_code == 413
        assert rss_mb() - before < 60, "an oversized offer was buffered"
        # None of it started a pipeline or a Live session; the one slot is free for a real call.
        assert calls.started == 0 and calls.active == 0 and backend.emulator.records == []
        await good_call(http)
        assert calls.started == 1


@pytest.mark.timeout(90)
async def test_concurrent_offers_respect_the_limit_and_unconnected_calls_end():
    async with serving(max_calls=3, connect_timeout_s=2.0) as (app, backend, http):
        calls = app.state.calls
        peers = [Peer() for _ in range(8)]
        offers = [await p.offer() for p in peers]
        # Eight offers at once against three slots: exactly three admitted.
        answers = await asyncio.gather(*(http.post("/api/offer", json=o) for o in offers))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] * 3 + [503] * 5, codes
        # Their peers never connect (the answers are never applied): the calls end and free the slots.
        for p in peers:
            await p.pc.close()

        async def idle():
            return (await http.get("/api/status")).json()["active_calls"] == 0

        await until(idle, 20, "the unconnected calls to end")
        assert calls.never_connected == 3
        # A peer that does connect keeps its call past the connect timeout.
        await good_call(http, hold_s=3.0)
        assert calls.never_connected == 3


@pytest.mark.timeout(60)
async def test_a_configured_token_is_required():
    async with serving(max_calls=1, auth_token="s3cret-webrtc-token") as (app, backend, http):
        peer = Peer()
        offer = await peer.offer()
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-webrtc-token"}):
            r = await http.post("/api/offer", json=offer, headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", headers
        await peer.pc.close()
        assert app.state.calls.started == 0
        await good_call(http, Authorization="Bearer s3cret-webrtc-token")
