"""The browser bot remembers a browser by its signed cookie (aiortc peer, real server, emulator)."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCSessionDescription

from pipecat_gemini_live.apps.memory import NEW_CALL_NOTE, CallerMemory, MemoryStore
from pipecat_gemini_live.apps.memory.keys import COOKIE_NAME

from .test_webrtc_app import Peer, serving, until


async def call(http, backend, *, cookie: str | None = None):
    """One call: offer, wait for bot-ready, hang up. Returns (offer response, the call's first record)."""
    before = len(backend.emulator.records)
    peer = Peer()
    if cookie is not None:
        http.cookies.set(COOKIE_NAME, cookie, domain="127.0.0.1")
    answer = await http.post("/api/offer", json=await peer.offer())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))

    async def ready():
        return peer.of("bot-ready") and len(backend.emulator.records) > before

    await until(ready, 15, "the call to start")
    await asyncio.sleep(0.5)  # the seed follows the setup
    record = backend.emulator.records[before]
    await peer.pc.close()

    async def ended():
        return (await http.get("/api/status")).json()["active_calls"] == 0

    await until(ended, 15, "the call to end")
    return answer, record


@pytest.mark.timeout(90)
async def test_a_browser_is_remembered_by_its_signed_cookie(tmp_path):
    store = MemoryStore(f"sqlite:///{tmp_path / 'memory.sqlite3'}")
    memory = CallerMemory(store, b"c" * 32)
    async with serving(max_calls=1, memory=memory) as (_app, backend, http):
        first, record = await call(http, backend)
        header = first.headers["set-cookie"]
        assert "httponly" in header.lower() and "samesite=strict" in header.lower()
        cookie = first.cookies[COOKIE_NAME]
        key = memory.cookies.caller_key(cookie)
        assert key is not None and not record.client_content  # a new browser: no memory
        # What an earlier call of this browser said (the writes are the Twilio and Daily tests').
        store.append(key, "pc-earlier", "user", "I am learning French.")
        store.append(key, "pc-earlier", "model", "Très bien!")

        again, record = await call(http, backend, cookie=cookie)
        assert "set-cookie" not in again.headers  # the same caller, cookie kept
        seed = [t["text"] for body in record.client_content for t in body.get("turns", [])]
        assert seed[:2] == ["I am learning French.", "Très bien!"] and NEW_CALL_NOTE in seed[-1]

        # A tampered cookie is a stranger: no memory, a new cookie.
        forged = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
        third, record = await call(http, backend, cookie=forged)
        assert not record.client_content
        assert third.cookies[COOKIE_NAME] != cookie
    store.close()
