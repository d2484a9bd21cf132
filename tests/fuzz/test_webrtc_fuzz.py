"""Fuzzing the browser bot's signalling (``POST``/``PATCH /api/offer``), on loopback.

Offers are JSON of every shape, SDP made of real and broken lines, real offers from aiortc
with lines dropped or mangled. Invariants: a clear status for each (never a 500), no
unhandled exception logged, every call that was admitted but never connected ends and frees
its slot, tasks / descriptors / RSS come back, and a real peer is still answered.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack
from hypothesis import example, given
from hypothesis import strategies as st

from gemini_live_emulator import EmulatorConfig
from pipecat_gemini_live.apps.bots import LiveBackend
from pipelines.webrtc_bot import create_app

from ..integration.test_webrtc_app import good_call
from .harness import Baseline, CapturedLogs, ThreadedServer
from .strategies import LONG_RUN, fuzz_settings, json_values, sdp_lines

pytestmark = [pytest.mark.timeout(7200 if LONG_RUN else 300), pytest.mark.xdist_group("fuzz-webrtc")]

REFUSALS = {400, 401, 404, 413, 503}


async def _real_offer() -> str:
    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())
    pc.createDataChannel("messages")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


REAL_OFFER = asyncio.run(_real_offer()).splitlines()


@st.composite
def mangled_offers(draw) -> str:
    lines = list(REAL_OFFER)
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "dup", "garble", "truncate", "insert"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "garble":
            lines[i] = lines[i][:2] + draw(st.text(max_size=30))
        elif action == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        else:
            lines.insert(i, draw(sdp_lines))
        if not lines:
            break
    return "\r\n".join(lines) + "\r\n"


sdps = st.one_of(
    mangled_offers(),
    st.lists(sdp_lines, max_size=15).map(lambda ls: "\r\n".join(ls) + "\r\n"),
    st.text(max_size=200),
    json_values,
)

bodies = st.one_of(
    st.fixed_dictionaries(
        {"sdp": sdps, "type": st.sampled_from(["offer", "answer", "", "OFFER"]) | json_values},
        optional={
            "pc_id": st.none() | st.text(max_size=40) | json_values,
            "restart_pc": json_values,
            "requestData": json_values,
        },
    ).map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=300),
)


@pytest.fixture(scope="module")
def browser_bot():
    backend = LiveBackend(None, emulator_config=EmulatorConfig(think_ms=50))
    app = create_app(backend, max_calls=2, connect_timeout_s=2.0)
    with CapturedLogs() as logs:
        server = ThreadedServer(app).start()
        try:
            yield server, logs
        finally:
            server.stop()
    assert logs.unhandled() == []


def test_fuzz_offers(browser_bot):
    server, logs = browser_bot
    calls = server.app.state.calls
    before = Baseline(server)

    @fuzz_settings(seeds=60)
    @given(body=bodies, patch=st.booleans())
    @example(body=json.dumps({"sdp": "v=0\r\ngarbage", "type": "offer"}), patch=False)
    @example(body=json.dumps({"sdp": "", "type": "offer"}), patch=False)
    @example(body=json.dumps({"sdp": "\r\n".join(REAL_OFFER), "type": "offer", "pc_id": "x"}), patch=False)
    @example(body=json.dumps({"pc_id": "x", "candidates": [{"candidate": "zz", "sdp_mid": "0", "sdp_mline_index": 0}]}), patch=True)
    def run(body, patch):
        method = "PATCH" if patch else "POST"
        r = httpx.request(method, server.base_url + "/api/offer", content=body, timeout=15)
        if r.status_code == 200:
            assert not patch and r.json()["type"] == "answer"
        else:
            assert r.status_code in REFUSALS, (r.status_code, r.text)
            assert r.json()["detail"]

    run()
    # Offers that were well-formed enough to be answered never connect: their calls end.
    print(before.check(lambda: calls.active == 0), f"{calls.started} answered, {calls.never_connected} never connected")
    assert calls.started == calls.never_connected
    assert logs.unhandled() == []

    async def call():
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            await good_call(http)

    asyncio.run(call())
