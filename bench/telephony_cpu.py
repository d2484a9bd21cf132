"""CPU of the three audio paths: the bot's own thread, per second of call.

    .venv/bin/python -m bench.telephony_cpu --rounds 2        # or: make bench-telephony-cpu

The same calls as ``bench/telephony.py`` (wideband, our Twilio path, Pipecat's stock Twilio
setup), but the Live API emulator (with its speech synthesis) and the caller simulator run on
threads and event loops of their own, so ``time.thread_time()`` of the main thread counts only
the bot: transport, serializer, pipeline, resamplers and the Live API client. No trace is
attached. Latency is not measured here (threads contend for the GIL); ``bench/telephony.py``
measures it on a single event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from loguru import logger
from streamdouble.session import SessionConfig

from bench.harness import place_call, serve, ulaw_frames
from bench.telephony import (
    INSTRUCTION,
    LABELS,
    MODEL,
    PATHS,
    TWILIO_CALLER,
    WIDEBAND_CALLER,
    wideband_call,
)
from gemini_live_emulator import EmulatorConfig
from gemini_live_emulator.threaded import EmulatorThread
from pipecat_gemini_live.telephony.audio import TelephonyAudio
from pipecat_gemini_live.apps.transports.wav import load_wav
from pipelines.twilio_bot import TwilioBotConfig, TwilioCall, create_app


async def twilio_call(
    served, frames: list[bytes], calls: list[TwilioCall], timeout_s: float = 30.0
) -> None:
    """One call from a simulator on its own thread; returns once the bot's pipeline finished."""
    config = SessionConfig(response_timeout_s=20.0, quiet_period_s=1.0)
    result = await asyncio.to_thread(asyncio.run, place_call(served, frames=frames, config=config))
    if not result.audio_received or result.violations:
        raise RuntimeError(f"the bot did not answer cleanly: violations {result.violations}")
    deadline = time.monotonic() + timeout_s
    while not calls[-1].worker.has_finished():
        if time.monotonic() > deadline:
            raise TimeoutError("the bot's pipeline did not finish after the caller hung up")
        await asyncio.sleep(0.05)


async def measure(rounds: int = 2, say=print) -> dict[str, float]:
    """Bot-thread CPU milliseconds per call-second, per path (mean over ``rounds`` calls)."""
    used = {p: [0.0, 0.0] for p in PATHS}  # CPU s, wall s
    frames = ulaw_frames(load_wav(TWILIO_CALLER))
    calls: list[TwilioCall] = []

    def app(audio: TelephonyAudio):
        config = TwilioBotConfig(audio=audio, model=MODEL, system_instruction=INSTRUCTION)
        return create_app(config, emulator=emu, on_call=calls.append)

    # The project's emulator thread: blocking calls, made only before and after the calls.
    with EmulatorThread() as thread:
        emu = thread.start(EmulatorConfig(think_ms=200, default_silence_ms=500))
        async with (
            serve(app(TelephonyAudio())) as ours,
            serve(app(TelephonyAudio.pipecat_stock())) as stock,
        ):
            for r in range(rounds):
                for path in PATHS[r % 3 :] + PATHS[: r % 3]:
                    cpu0, wall0 = time.thread_time(), time.monotonic()
                    if path == "wideband":
                        await wideband_call(emu, WIDEBAND_CALLER, None)
                    else:
                        await twilio_call(ours if path == "twilio" else stock, frames, calls)
                    cpu, wall = time.thread_time() - cpu0, time.monotonic() - wall0
                    used[path][0] += cpu
                    used[path][1] += wall
                    say(
                        f"round {r + 1}/{rounds} {path:9s} {1000 * cpu / wall:.1f} ms CPU per call-second"
                    )
    return {p: round(1000 * cpu / wall, 1) for p, (cpu, wall) in used.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Bot-thread CPU per call-second of the three audio paths."
    )
    p.add_argument("--rounds", type=int, default=2, help="calls per path")
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    result = asyncio.run(measure(args.rounds))
    print(f"\n{'path':36s} {'bot CPU ms per call-second':>28s} {'vs stock':>9s}")
    for path in PATHS:
        print(f"{LABELS[path]:36s} {result[path]:28.1f} {result[path] / result['stock']:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
