"""A remembered call that loses its connection: the reconnect's session carries the memory and
the store gets each turn of the call once (it is written from the history, not the sessions)."""

from __future__ import annotations

import asyncio

import pytest
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.workers.runner import WorkerRunner

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live import AudioResampler, GeminiLiveLLMService
from pipecat_gemini_live.apps.memory import CallMemory, MemoryStore
from pipecat_gemini_live.apps.transports import WavTransport

from ..conftest import build_call


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault", ["drop@t=5", "close:1011@t=5"])
async def test_memory_survives_a_lost_connection(tmp_path, fault):
    caller = build_call(tmp_path / "in.wav", [0.5, "cards_001.wav", 3.5, "cards_003.wav", 3.5, "cards_005.wav", 3.0])
    store = MemoryStore(f"sqlite:///{tmp_path / 'memory.sqlite3'}")
    store.append("web:abc", "earlier", "user", "Call me Captain.")
    store.append("web:abc", "earlier", "model", "Aye, Captain.")
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=2.0, faults=[fault])) as emu:
        transport = WavTransport(caller, tmp_path / "out.wav", tail_quiet_s=3.0)
        service = GeminiLiveLLMService(
            api_key=emu.api_key, http_options=emu.http_options(), model="gemini-3.1-flash-live-preview"
        )
        memory = await CallMemory.open(service, store, "web:abc", "this-call")
        pipeline = Pipeline([transport.input(), AudioResampler(), service, transport.output()])
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(PipelineWorker(pipeline, idle_timeout_secs=None, enable_rtvi=False))
        await runner.run()
        await memory.close()
        await asyncio.sleep(0.2)
        records = list(emu.records)
    assert len(records) >= 2, "the fault did not move the call to a new connection"
    replies = [r for r in service.replies if not r.interrupted]
    assert len(replies) >= 3, service.replies
    # The first session was seeded with the memory; a re-seeded one carries it on.
    first = [t["text"] for body in records[0].client_content for t in body.get("turns", [])]
    assert first[:2] == ["Call me Captain.", "Aye, Captain."]
    for later in records[1:]:
        seeded = [t["text"] for body in later.client_content for t in body.get("turns", [])]
        assert not seeded or seeded[:2] == ["Call me Captain.", "Aye, Captain."] or later.resumed_from
    # Each turn of the call is in the store once, whichever session it was said on.
    written = [(t.role, t.text) for t in store.recent("web:abc") if t.call_id == "this-call"]
    history = [(e.role, e.text) for e in service.history.entries if e.kind == "speech"]
    assert written == history and len(written) >= 6
    assert memory.failed_writes == 0
    store.close()
