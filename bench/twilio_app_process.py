"""One Twilio bot app in a process of its own (for :mod:`bench.telephony_cpu`'s concurrent mode).

    .venv/bin/python -m bench.twilio_app_process --app twilio --endpoint '{"base_url": ...}'

Serves the app named ``--app`` (:data:`bench.telephony_cpu.PATHS` or one of its ``BEFORE``
variants) on loopback under uvicorn, answering with the emulator at ``--endpoint``
(:meth:`bench.emulator_process.Endpoint.to_json`), and prints one JSON line once it listens:
``{"url", "pid"}``. ``GET /bench/active`` answers how many of its calls' pipelines are still
running. It stops when its standard input closes (the parent went away) or on SIGTERM.

In a process of its own, an app's CPU can be read from ``/proc`` while the other apps run
their calls at the same moment: what the machine's other load costs falls on all of them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from loguru import logger

from bench.emulator_process import Endpoint
from bench.harness import serve


def build_app(name: str, endpoint: Endpoint, workers: list):
    """The FastAPI app ``name`` answering with ``endpoint``; its calls' workers go to ``workers``."""
    from bench.stock_twilio import create_stock_app
    from bench.telephony import INSTRUCTION, MODEL
    from bench.telephony_cpu import BEFORE
    from pipecat_gemini_live.telephony.audio import TelephonyAudio
    from pipelines.twilio_bot import TwilioBotConfig, create_app

    if name in ("stock", "floor"):
        app = create_stock_app(endpoint, model=MODEL, instruction=INSTRUCTION, on_call=workers.append, service=name == "stock")
    elif name == "twilio" or name in BEFORE:
        audio = TelephonyAudio() if name == "twilio" else BEFORE[name]
        app = create_app(
            TwilioBotConfig(audio=audio, model=MODEL, system_instruction=INSTRUCTION),
            emulator=endpoint,
            on_call=lambda call: workers.append(call.worker),
        )
    else:
        raise ValueError(f"unknown app {name!r}")

    @app.get("/bench/active")
    async def active() -> dict:
        return {"active": sum(not w.has_finished() for w in workers)}

    return app


async def run(name: str, endpoint: Endpoint) -> None:
    workers: list = []
    async with serve(build_app(name, endpoint, workers)) as served:
        print(json.dumps({"url": served.base_url, "pid": os.getpid()}), flush=True)
        loop = asyncio.get_running_loop()
        # Until the parent closes our stdin (or it dies).
        await loop.run_in_executor(None, sys.stdin.read)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--app", required=True)
    p.add_argument("--endpoint", required=True, help="the emulator, as Endpoint.to_json()")
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    asyncio.run(run(args.app, Endpoint.from_json(args.endpoint)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
