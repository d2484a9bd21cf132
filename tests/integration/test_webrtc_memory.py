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
        assert store.engine.pool.checkedin() > 0
    assert store.engine.pool.checkedin() == 0  # the app's shutdown disposed of the store's connections
    store.close()


@pytest.mark.timeout(90)
async def test_a_slow_database_does_not_hold_up_the_call(tmp_path, monkeypatch):
    """A database that answers in 10 s: the call starts without memory after the load limit
    (3 s), the peer's connect is seen, and the call lives on past the connect timeout."""
    import time

    store = MemoryStore(f"sqlite:///{tmp_path / 'memory.sqlite3'}")
    memory = CallerMemory(store, b"c" * 32)
    real_recent = store.recent

    def slow_recent(key):
        time.sleep(10.0)
        return real_recent(key)

    monkeypatch.setattr(store, "recent", slow_recent)
    async with serving(max_calls=1, memory=memory, connect_timeout_s=4.0) as (app, backend, http):
        calls = app.state.calls
        peer = Peer()
        started = time.monotonic()
        answer = (await http.post("/api/offer", json=await peer.offer())).json()
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))

        async def ready():
            return peer.of("bot-ready")

        await until(ready, 20, "bot-ready")
        assert time.monotonic() - started < 8.0  # gross: not the database's 10 s
        await asyncio.sleep(4.5)  # past the connect timeout
        assert calls.never_connected == 0 and (await http.get("/api/status")).json()["active_calls"] == 1
        await peer.pc.close()

        async def ended():
            return (await http.get("/api/status")).json()["active_calls"] == 0

        await until(ended, 15, "the call to end")
    store.close()
