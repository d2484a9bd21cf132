"""Concurrent Twilio calls from a process of their own (for :mod:`bench.telephony_cpu`).

    .venv/bin/python -m bench.twilio_callers --url http://127.0.0.1:PORT --calls 4

Places ``--calls`` streamdouble calls at once (webhook, then the media stream, 20 ms mu-law
frames in real time from ``pipelines/audio/caller_3turns_8k_ulaw.wav``) and prints one JSON
object: ``{"calls", "answered", "frames_sent", "violations"}``. In a process of its own, the
callers' CPU (and their GIL) stay out of the bot's measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from loguru import logger
from streamdouble.session import SessionConfig

from bench.harness import Served, place_call, ulaw_frames
from bench.telephony import TWILIO_CALLER
from pipecat_gemini_live.apps.transports.wav import load_wav


async def call_all(url: str, calls: int) -> dict:
    """Place ``calls`` concurrent calls on the bot at ``url``; what came back."""
    frames = ulaw_frames(load_wav(TWILIO_CALLER))
    config = SessionConfig(response_timeout_s=20.0, quiet_period_s=1.0)
    results = await asyncio.gather(*(place_call(Served(url), frames=frames, config=config) for _ in range(calls)))
    return {
        "calls": calls,
        "answered": sum(bool(r.audio_received) for r in results),
        "frames_sent": sum(r.frames_sent for r in results),
        "violations": [str(v) for r in results for v in (getattr(r, "violations", None) or [])][:5],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the bot's base URL (http://127.0.0.1:PORT)")
    p.add_argument("--calls", type=int, default=1)
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    print(json.dumps(asyncio.run(call_all(args.url, args.calls))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
