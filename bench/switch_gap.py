"""Persona switch gap: persona update frame -> new session ready to answer, against the emulator.

    .venv/bin/python bench/switch_gap.py [--switches 40]

Runs a call per model profile with caller audio flowing (real speech on a loop), sends persona
updates one after another (each once the previous has finished) and prints p50/p95 of the gap
per profile and method (``context_update`` in-session, ``handover`` to a new seeded session).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

from loguru import logger
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.workers.runner import WorkerRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipecat_gemini_live import AudioResampler, GeminiLiveLLMService, PersonaUpdateFrame  # noqa: E402
from gemini_live_emulator import EmulatorConfig, LiveEmulator  # noqa: E402
from pipecat_gemini_live.apps.transports.wav import WavTransport  # noqa: E402

PROFILES = ["gemini-2.5-flash-native-audio-preview-09-2025", "gemini-3.1-flash-live-preview", "gemini-3.8-live"]
PERSONAS = ["You are a pirate.", "You are a librarian.", "You are a chef."]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def measure(model: str, switches: int, caller: Path, out: Path) -> dict[str, list[float]]:
    gaps: dict[str, list[float]] = {}
    async with LiveEmulator(EmulatorConfig(think_ms=200)) as emu:
        transport = WavTransport(caller, out, tail_quiet_s=0.5)
        svc = GeminiLiveLLMService(api_key=emu.api_key, http_options=emu.http_options(), model=model, system_instruction="You are a helpful assistant.")
        worker = PipelineWorker(Pipeline([transport.input(), AudioResampler(), svc, transport.output()]), idle_timeout_secs=None, enable_rtvi=False)
        done = asyncio.Event()

        @svc.event_handler("on_switch")
        async def _switch(_svc, record):
            if record.reason == "persona" and record.ok:
                gaps.setdefault(record.method, []).append(record.switch_gap_ms)
                done.set()

        async def drive():
            await asyncio.sleep(1.0)
            for i in range(switches):
                done.clear()
                # Every other switch also changes the language, which only a new setup can carry.
                language = ("en-GB" if (i // 2) % 2 else "en-US") if i % 2 else None
                await worker.queue_frame(PersonaUpdateFrame(system_instruction=PERSONAS[i % len(PERSONAS)], language=language))
                await asyncio.wait_for(done.wait(), 10)
                await asyncio.sleep(0.1)
            await worker.cancel()

        @worker.event_handler("on_pipeline_started")
        async def _started(_w, _f):
            asyncio.create_task(drive())

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await runner.run()
    return gaps


async def measure_all(switches: int = 40) -> list[dict]:
    """Gaps for every profile: ``[{"model", "method", "n", "p50_ms", "p95_ms"}]``."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in PROFILES:
            caller = ROOT / "pipelines" / "audio" / "caller_3turns_16k.wav"
            gaps = await measure(model, switches, caller, Path(tmp) / "out.wav")
            for method, values in sorted(gaps.items()):
                rows.append(
                    {
                        "model": model,
                        "method": method,
                        "n": len(values),
                        "p50_ms": round(statistics.median(values), 1),
                        "p95_ms": round(percentile(values, 0.95), 1),
                    }
                )
    return rows


async def main(args) -> None:
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    rows = await measure_all(args.switches)
    print(f"{'model':48} {'method':15} {'n':>4} {'p50 ms':>8} {'p95 ms':>8}")
    for r in rows:
        print(f"{r['model']:48} {r['method']:15} {r['n']:>4} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--switches", type=int, default=40, help="switches per profile")
    asyncio.run(main(parser.parse_args()))
