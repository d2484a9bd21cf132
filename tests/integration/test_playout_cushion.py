"""The playout cushion against an emulator that streams replies slower than real time."""

from __future__ import annotations

import asyncio

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live import LiveOptions
from pipecat_gemini_live.apps.report import bot_segments

from ..conftest import build_call
from .call_helpers import run_call

M38 = "gemini-3.8-live"


def gaps_in_last_reply(result) -> int:
    """Silences of 5 ms or more inside the last reply, as the WAV output played it."""
    writes = result.transport.output().writes
    spans = bot_segments(writes, gap_s=0.3)
    last = spans[-1]
    inside = [w for w in writes if last[0] <= w[0] <= last[1]]
    return len(bot_segments(inside, gap_s=0.005)) - 1


async def test_the_cushion_learns_from_the_first_reply_and_spares_the_next_one(tmp_path):
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 7.0, "cards_003.wav", 9.0])

    async def one(cushion_ms):
        # pace 0.7: the server sends reply audio at 70% of real time. (At 0.85 a loaded machine
        # that stalled the client's playback for a few hundred ms at a reply's start could hide
        # the whole shortfall of a short reply: a call without a cushion then heard no gap.)
        async with LiveEmulator(EmulatorConfig(think_ms=100, pace=0.7)) as emu:
            return await run_call(
                emu, wav, tmp_path / f"out{cushion_ms}.wav", model=M38,
                options=LiveOptions(output_cushion_ms=cushion_ms), timeout_tail=3.0,
            )

    off, on = await asyncio.gather(one(None), one(3000))
    assert off.service.output_cushion is None
    cushion = on.service.output_cushion
    assert cushion.underruns >= 1 and cushion.target_s > 0.5  # the first reply ran dry
    spans = {name: bot_segments(r.transport.output().writes, gap_s=0.3) for name, r in (("off", off), ("on", on))}
    assert gaps_in_last_reply(off) >= 5, spans
    assert gaps_in_last_reply(on) < gaps_in_last_reply(off) / 2, spans
    assert cushion.added_latency_s and cushion.added_latency_s[-1] > 0.5  # the price, counted
