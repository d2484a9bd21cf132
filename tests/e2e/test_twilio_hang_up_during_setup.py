"""A phone caller who hangs up while the bot's Live session is still being set up.

Once, the opening was cancelled by the hang-up, the connect completed anyway, and the Live
connection stayed open until the server process stopped: against Gemini, a billed session that
nobody hears. Checked on the emulator's own records: every connection the bot opened is closed.
"""

from __future__ import annotations

import asyncio

from streamdouble.protocol import StreamIdentity
from streamdouble.session import SessionConfig

from bench.harness import place_call, post_webhook, serve, stream_token, ulaw_frames
from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live.apps.transports.wav import load_wav
from pipelines.twilio_bot import TwilioBotConfig, TwilioCall, create_app

from ..conftest import build_call
from .test_twilio_bot import wait_finished


async def test_hanging_up_during_setup_leaves_no_live_connection_open(tmp_path):
    caller = load_wav(build_call(tmp_path / "caller.wav", [0.3], rate=8000, subtype="ULAW"))
    calls: list[TwilioCall] = []
    identity = StreamIdentity()
    # setupComplete comes 2 s after the connect; the caller is gone after 0.3 s.
    async with LiveEmulator(EmulatorConfig(think_ms=100, faults=["slow_setup:2"])) as emu:
        async with serve(create_app(TwilioBotConfig(), emulator=emu, on_call=calls.append)) as served:
            answer = await post_webhook(served, identity.call_sid, account_sid=identity.account_sid)
            result = await place_call(
                served, frames=ulaw_frames(caller), identity=identity, token=stream_token(answer.text),
                config=SessionConfig(response_timeout_s=0.5, quiet_period_s=0.1),
            )
            await wait_finished(calls)
            await asyncio.sleep(2.5)  # past the slow setup: a leaked session would be live now
            records = list(emu.records)
            leftover = [t.get_name() for t in asyncio.all_tasks() if "live-session" in t.get_name() and not t.done()]
    assert result.violations == []
    assert records, "the bot started a Live session"
    assert all(r.closed for r in records), [(r.index, r.closed) for r in records]
    assert leftover == []
