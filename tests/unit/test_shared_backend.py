"""The runner entries' shared Live backend: concurrent first calls start one, not two."""

from __future__ import annotations

import asyncio

from pipecat_gemini_live.apps.bots import LiveBackend, SharedBackend
from pipelines import daily_bot, twilio_bot, webrtc_bot


class SlowBackend(LiveBackend):
    """A backend whose start takes a while (an emulator's TLS server, a cold process)."""

    started: list["SlowBackend"] = []

    async def start(self) -> "SlowBackend":
        await asyncio.sleep(0.2)
        SlowBackend.started.append(self)
        return self


async def test_two_concurrent_first_calls_start_one_backend():
    SlowBackend.started = []
    shared = SharedBackend(SlowBackend)
    first, second = await asyncio.gather(shared.get(), shared.get())
    assert first is second and SlowBackend.started == [first]
    assert await shared.get() is first  # later calls share it too
    await shared.stop()
    assert not shared.started
    assert await shared.get() is not first  # started anew after a stop
    await shared.stop()


def test_a_shared_backend_serves_calls_on_a_new_event_loop():
    SlowBackend.started = []
    shared = SharedBackend(SlowBackend)

    async def two_calls_then_stop():
        await asyncio.gather(shared.get(), shared.get())
        await shared.stop()

    asyncio.run(two_calls_then_stop())
    asyncio.run(two_calls_then_stop())  # the lock of the first loop is not reused
    assert len(SlowBackend.started) == 2


async def test_a_failed_start_is_retried_by_the_next_call():
    attempts = []

    class Failing(LiveBackend):
        async def start(self):
            attempts.append(self)
            if len(attempts) == 1:
                raise OSError("no port")
            return self

    shared = SharedBackend(Failing)
    results = await asyncio.gather(shared.get(), shared.get(), return_exceptions=True)
    assert isinstance(results[0], OSError) and results[1] is attempts[1]


def test_every_bots_runner_entry_shares_one_backend():
    for module in (twilio_bot, webrtc_bot, daily_bot):
        assert isinstance(module._runner_backend, SharedBackend), module.__name__
