"""Run the Live API emulator as a process.

    python -m gemini_live_emulator --port 8765 --think-ms 200

Prints one JSON line with what a client needs (base URL, CA file, API key), then serves until
interrupted. Point google-genai at it with ``HttpOptions(base_url=..., async_client_args=
{"ssl": ssl.create_default_context(cafile=CA_FILE)})``, or ``SSL_CERT_FILE=CA_FILE``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from ..config import EmulatorConfig
from ..scenario import Scenario
from .certs import LocalCA
from .emulator import LiveEmulator


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gemini_live_emulator", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    p.add_argument("--api-key", help="key clients must send (default: random, printed)")
    p.add_argument("--ca-dir", help="directory for ca.pem (default: a temporary directory)")
    p.add_argument("--think-ms", type=int, default=200, help="delay before a reply starts, ms")
    p.add_argument("--silence-ms", type=int, default=500, help="default end-of-speech silence, ms")
    p.add_argument("--chunk-ms", type=int, default=40, help="audio per reply message, ms")
    p.add_argument("--pace", type=float, default=1.0, help="reply sending speed, x real time")
    p.add_argument(
        "--pacing", default="realtime", help="reply audio delivery: realtime, burst:N, slow:F or jitter[:SEED]"
    )
    p.add_argument(
        "--no-asr", action="store_true", help="do not recognise caller words (describe speech by its length; cheaper)"
    )
    p.add_argument("--lifetime-s", type=float, help="connection lifetime, s (goAway comes --goaway-before-s ahead)")
    p.add_argument("--goaway-before-s", type=float, default=50.0, help="goAway lead before the lifetime ends, s")
    p.add_argument("--time-scale", type=float, default=1.0, help="divide every emulator duration by this")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, e.g. close:1011@reply, drop@t=5, stall:8@reply, slow_setup:2, refuse:3 (repeatable)",
    )
    p.add_argument(
        "--tool-call",
        action="append",
        default=[],
        metavar="TURN:NAME{ARGS}",
        help='script a tool call, e.g. 2:get_weather{"city": "Paris"} (repeatable)',
    )
    p.add_argument("--scenario", help="a JSON scenario file of tool calls")
    p.add_argument(
        "--unheard-turns",
        choices=("answer", "wait"),
        default="answer",
        help="a caller turn with no words made out: answer it, or wait for more (waitingForInput)",
    )
    p.add_argument(
        "--model-behaviour",
        action="append",
        default=[],
        metavar="PATTERN=FAMILY",
        help="server rules for models matching PATTERN: 2.5, 3.1, 3.8 or strict, e.g. 'gemini-4*=3.8' (repeatable)",
    )
    return p


def _behaviours(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        pattern, sep, family = item.partition("=")
        if not sep or not pattern or not family:
            raise ValueError(f"--model-behaviour takes PATTERN=FAMILY, not {item!r}")
        out[pattern] = family
    return out


async def _serve(args: argparse.Namespace) -> None:
    fields = {
        "think_ms": args.think_ms,
        "default_silence_ms": args.silence_ms,
        "chunk_ms": args.chunk_ms,
        "pace": args.pace,
        "pacing": args.pacing,
    }
    if args.api_key:
        fields["api_key"] = args.api_key
    if args.no_asr:  # otherwise the default (GEMINI_LIVE_EMULATOR_ASR, on when unset)
        fields["asr"] = False
    fields.update(
        lifetime_s=args.lifetime_s,
        goaway_before_s=args.goaway_before_s,
        time_scale=args.time_scale,
        faults=args.fault,
        scenario=Scenario.load(args.scenario) if args.scenario else args.tool_call,
        model_behaviours=_behaviours(args.model_behaviour),
        unheard_turns=args.unheard_turns,
    )
    config = EmulatorConfig(**fields)
    ca = LocalCA(args.ca_dir) if args.ca_dir else None
    async with LiveEmulator(config, host=args.host, port=args.port, ca=ca) as emu:
        print(
            json.dumps({"base_url": emu.base_url, "ca_file": emu.ca_file, "api_key": emu.api_key, "port": emu.port}),
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
