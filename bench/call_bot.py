"""Call a running Twilio bot from this machine, as Twilio would: webhook, then the media stream.

    .venv/bin/python -m bench.call_bot --url http://127.0.0.1:8000 \\
        --audio pipelines/audio/caller_3turns_8k_ulaw.wav --out out/twilio_reply.wav

POSTs the TwiML webhook (signed when ``TWILIO_AUTH_TOKEN`` is set, as Twilio signs it), takes the
per-call token from the answer and plays the recording (8 kHz; PCM16 or mu-law WAV) over the
media stream with streamdouble, in real time. Prints when the bot answered and how often it
cleared its audio, and writes what the bot said to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from streamdouble.audio import ulaw_to_wav
from streamdouble.session import SessionConfig

from bench.harness import Served, place_call, ulaw_frames
from pipecat_gemini_live.apps.report import caller_segments
from pipecat_gemini_live.apps.transports.wav import WavInputError, load_wav


async def call(url: str, audio: Path, out: Path | None) -> int:
    caller = load_wav(audio)
    result = await place_call(
        Served(url.rstrip("/")),
        frames=ulaw_frames(caller),
        auth_token=os.environ.get("TWILIO_AUTH_TOKEN") or None,
        config=SessionConfig(response_timeout_s=15.0),
    )
    starts = [e.at - result.started_at for e in result.events_of("media_received")]
    for i, (_, end) in enumerate(caller_segments(caller)):
        reply = next((t for t in starts if t > end), None)
        answer = (
            f"bot audio from {reply:.2f}s ({(reply - end) * 1000:.0f} ms later)"
            if reply is not None
            else "no answer"
        )
        print(f"turn {i + 1}: caller stopped at {end:.2f}s, {answer}")
    print(f"clears: {result.clears_received}, protocol violations: {len(result.violations)}")
    if out is not None and result.audio_received:
        out.parent.mkdir(parents=True, exist_ok=True)
        ulaw_to_wav(result.audio_received, out)
        print(f"bot audio: {out}")
    return 0 if result.audio_received and not result.violations else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Call a running Twilio bot locally (webhook + media stream)."
    )
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the bot's base URL")
    p.add_argument(
        "--audio",
        type=Path,
        default=Path("pipelines/audio/caller_3turns_8k_ulaw.wav"),
        help="8 kHz caller WAV",
    )
    p.add_argument("--out", type=Path, help="where to write the bot's audio (WAV)")
    args = p.parse_args(argv)
    try:
        return asyncio.run(call(args.url, args.audio, args.out))
    except (WavInputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
