"""1007 refusals and long outages: the call recovers once, learns, and only then gives up."""

from __future__ import annotations

import asyncio

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live import PersonaUpdateFrame
from pipecat_gemini_live.protocol.profiles import profile_for

from ..conftest import build_call
from .call_helpers import run_call

M38 = "gemini-3.8-live"


async def test_a_refused_context_update_moves_the_call_and_is_not_sent_again(tmp_path):
    """A model the table believes takes ``contextUpdate`` refuses it (the server's rules
    drifted): the call moves to a fresh session with the new persona, the pipeline is told,
    and the next persona change goes by hand-over without another 1007."""
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 4.5, "cards_003.wav", 4.5, "cards_001.wav", 3.0])
    config = EmulatorConfig(think_ms=100, pace=2.0, model_behaviours={"gemini-3.8-*": "3.1"})
    async with LiveEmulator(config) as emu:
        result = await run_call(
            emu, wav, tmp_path / "out.wav", model=M38,
            at=[
                (3.0, PersonaUpdateFrame(system_instruction="You are a pirate.")),
                (8.5, PersonaUpdateFrame(system_instruction="You are a librarian.")),
            ],
        )
        await emu.wait_closed(timeout=5)
        records = list(emu.records)
    assert [r.server_close_code for r in records] == [1007, None, None]
    assert records[0].context_updates and not records[1].context_updates
    (refusal,) = [e for e in result.errors if "1007" in e]
    assert "context_update" in refusal and "will not be sent" in refusal
    spoken = [r.text for r in result.service.replies]
    assert any(t.startswith("You are a pirate") for t in spoken), spoken
    assert spoken[-1].startswith("You are a librarian"), spoken
    assert profile_for(M38).context_update is False  # learned for the process
    assert result.service.audio_counters.dropped == 0


async def test_an_outage_of_several_seconds_is_ridden_out(tmp_path):
    """Four refused connects in a row (about 8 s of backoff, where the old budget gave up after
    about 3 s): the default budget (about 30 s) holds the caller's words (within the hold's
    10 s bound) and they are answered when the server is back."""
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 14.0])
    async with LiveEmulator(EmulatorConfig(think_ms=100, faults=["refuse:4"])) as emu:
        result = await asyncio.wait_for(run_call(emu, wav, tmp_path / "out.wav", model=M38), 90)
    assert emu.refused == 4
    (start,) = [s for s in result.service.handover.records if s.reason == "start"]
    assert start.ok and start.attempts == 5
    assert [r.text for r in result.service.replies if "heard you" in r.text], result.service.replies
    assert result.errors == []
