"""The emulator's wait for a caller turn's words: one deadline for the whole turn."""

from __future__ import annotations

import asyncio
import time

from gemini_live_emulator.model.conversation import UserTurn


async def test_a_turn_of_several_utterances_waits_once_for_its_words():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    done.set_result("heard")
    pending = [loop.create_future() for _ in range(3)]
    turn = UserTurn(hearing=[done, *pending])
    started = time.monotonic()
    await turn.listen(timeout_s=0.3)
    waited = time.monotonic() - started
    # One 0.3 s deadline for the turn; per utterance it would be 0.9 s.
    assert 0.25 <= waited < 0.6, waited
    assert turn.heard == ["heard"]
    assert turn.late == pending and not turn.hearing
    assert not any(f.cancelled() for f in pending)  # the words still come, as late transcription


async def test_words_that_come_within_the_deadline_are_heard():
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(2)]
    for i, f in enumerate(futures):
        loop.call_later(0.05 * (i + 1), f.set_result, f"words {i}")
    turn = UserTurn(hearing=list(futures))
    await turn.listen(timeout_s=1.0)
    assert turn.heard == ["words 0", "words 1"] and not turn.late
