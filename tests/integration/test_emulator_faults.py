"""Emulator limits and faults as the SDK sees them."""

from __future__ import annotations

import asyncio
import time

import pytest
import websockets
from google.genai.errors import APIError

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from gemini_live_emulator.faults import Fault

from .sdk_helpers import client_for, collect_turn, live_config, speak

MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"


async def receive_until_closed(session, timeout=10.0):
    messages = []

    async def read():
        while True:
            async for m in session.receive():
                messages.append(m)

    with pytest.raises(APIError) as e:
        await asyncio.wait_for(read(), timeout)
    return messages, e.value


async def test_lifetime_sends_go_away_then_closes_1000():
    config = EmulatorConfig(think_ms=50, lifetime_s=600, goaway_before_s=50, time_scale=600)  # 1 s, goAway at 0.92 s
    async with LiveEmulator(config) as emu:
        async with client_for(emu).aio.live.connect(model=MODEL, config=live_config()) as session:
            t0 = time.monotonic()
            messages, err = await receive_until_closed(session)
            elapsed = time.monotonic() - t0
    (go_away,) = [m.go_away for m in messages if m.go_away]
    assert go_away.time_left.endswith("s") and 0.05 < float(go_away.time_left[:-1]) < 0.1
    assert err.code == 1000 and "cancelled" in str(err.details)
    assert 0.8 < elapsed < 3.0


@pytest.mark.parametrize("code", [1007, 1008, 1011])
async def test_close_mid_reply_with_a_code(code):
    async with LiveEmulator(EmulatorConfig(think_ms=50, faults=[f"close:{code}@reply"])) as emu:
        async with client_for(emu).aio.live.connect(model=MODEL, config=live_config()) as session:
            await speak(session)
            messages, err = await receive_until_closed(session)
    assert err.code == code
    assert any(m.server_content and m.server_content.model_turn for m in messages)  # it was mid-reply
    assert emu.records[0].server_close_code == code


async def test_drop_without_close_frame_is_1006():
    async with LiveEmulator(EmulatorConfig(think_ms=50, faults=["drop@messages=20"])) as emu:
        async with client_for(emu).aio.live.connect(model=MODEL, config=live_config()) as session:
            with pytest.raises((APIError, websockets.exceptions.ConnectionClosed)) as e:
                await speak(session, realtime=True)
                await collect_turn(session, timeout=5)
    if isinstance(e.value, APIError):
        assert e.value.code == 1006
    assert emu.records[0].close_code is None  # nobody sent a close frame


async def test_close_during_setup_and_slow_setup():
    async with LiveEmulator(EmulatorConfig(faults=["close:1011@setup#0", "slow_setup:0.6#1"])) as emu:
        client = client_for(emu)
        with pytest.raises(APIError) as e:
            async with client.aio.live.connect(model=MODEL, config=live_config()):
                pass
        assert e.value.code == 1011
        t0 = time.monotonic()
        async with client.aio.live.connect(model=MODEL, config=live_config()):
            assert time.monotonic() - t0 >= 0.55


async def test_refused_connects_are_http_503():
    async with LiveEmulator(EmulatorConfig(faults=["refuse:2"])) as emu:
        client = client_for(emu)
        for _ in range(2):
            with pytest.raises(websockets.exceptions.InvalidStatus) as e:
                async with client.aio.live.connect(model=MODEL, config=live_config()):
                    pass
            assert e.value.response.status_code == 503
        async with client.aio.live.connect(model=MODEL, config=live_config()):
            pass
    assert emu.refused == 2


async def test_stall_holds_the_reply_back():
    async with LiveEmulator(EmulatorConfig(think_ms=50, pace=5.0, faults=["stall:1.5@reply"])) as emu:
        async with client_for(emu).aio.live.connect(model=MODEL, config=live_config()) as session:
            await speak(session)
            t0 = time.monotonic()
            await collect_turn(session)
            assert time.monotonic() - t0 > 1.5


async def test_malformed_frame_breaks_the_sdk_parse():
    async with LiveEmulator(EmulatorConfig(think_ms=50, faults=["malformed@speaking"])) as emu:
        async with client_for(emu).aio.live.connect(model=MODEL, config=live_config()) as session:
            await speak(session)
            with pytest.raises(ValueError, match="Failed to parse"):
                await collect_turn(session, timeout=5)


def test_fault_text_form():
    f = Fault.parse("close:1011@reply#2")
    assert (f.kind.value, f.code, f.phase, f.connection) == ("close", 1011, "reply", 2)
    assert Fault.parse("drop@t=5").at_s == 5.0
    assert Fault.parse("refuse:3").count == 3
    for bad in ["close@reply", "explode@t=1", "stall:2@nowhere", "drop"]:
        with pytest.raises(ValueError):
            Fault.parse(bad)
