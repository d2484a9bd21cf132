"""The watchdog waits on events and deadlines, not a polling tick (no sockets)."""

import asyncio
import time
from types import SimpleNamespace

from pipecat_gemini_live.call.link import SessionLink
from pipecat_gemini_live.call.live_options import LiveOptions
from pipecat_gemini_live.call.watchdog import SessionWatchdog


def watchdog(**options):
    async def nothing(*args, **kwargs):
        return None

    return SessionWatchdog(
        link=SessionLink(5.0), hooks=SimpleNamespace(), caller=SimpleNamespace(), replies=SimpleNamespace(),
        options=LiveOptions(**options), switching=lambda: False, request_switch=nothing, abandon=nothing,
    )  # fmt: skip


def test_a_wait_ends_at_the_poke_that_makes_it_true():
    async def run():
        dog = watchdog()
        state = {"done": False}

        async def later():
            await asyncio.sleep(0.05)
            state["done"] = True
            dog.poke()

        started = time.monotonic()
        asyncio.get_running_loop().create_task(later())
        assert await dog.wait_until(lambda: state["done"], timeout=5.0)
        return time.monotonic() - started

    assert asyncio.run(run()) < 2.0  # gross limit: woken by the poke, not the 5 s timeout


def test_a_wait_gives_up_at_its_timeout_and_a_poke_that_changes_nothing_does_not_end_it():
    async def run():
        dog = watchdog()
        asyncio.get_running_loop().call_later(0.02, dog.poke)
        return await dog.wait_until(lambda: False, timeout=0.2)

    assert asyncio.run(run()) is False


def test_owing_and_settling_a_reply():
    dog = watchdog()
    assert not dog.owed
    dog.reply_owed()
    assert dog.owed
    dog.reply_settled()
    assert not dog.owed


def test_caller_speech_wakes_the_stall_check_when_quiet_input_is_off():
    """With ``audio_stream_end_after_s=None`` nothing else wakes the watchdog when the caller
    starts a sentence: its stall deadline was never set and a silent model went unnoticed."""
    tail = SimpleNamespace(unanswered_for=lambda: None)
    dog = watchdog(audio_stream_end_after_s=None)
    dog.caller = SimpleNamespace(tail=tail)
    dog._waiting_for_speech = True  # what a stall check that found nothing pending leaves
    woken = dog._changed
    dog.audio_arrived()
    assert not woken.is_set()  # silence or an answered sentence: no wake
    tail.unanswered_for = lambda: 0.0
    dog.audio_arrived()
    assert woken.is_set()
