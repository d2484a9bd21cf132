"""What each Twilio bot does per second of a call: messages, socket writes, frames through the pipeline.

    .venv/bin/python -m bench.twilio_messages [--calls 2]

Most of a phone bot's CPU above the floor is paid per message and per frame (a WebSocket frame,
a TLS record, a socket write and the event-loop turns around each; a queue, a task switch and a
``process_frame`` per processor a frame crosses), so these counts explain
:mod:`bench.telephony_cpu`'s figures. Each app (ours, Pipecat's stock setup with its built-in
service) takes ``--calls`` concurrent streamdouble calls of the same recording, one app after
the other, in this process, with counters wrapped around:

- ``live_messages``: WebSocket messages sent to the Live API (``websockets`` client ``send``);
- ``twilio_messages``: text messages sent to the caller's side (Starlette ``send_text``);
- ``socket_writes``: writes on any asyncio socket transport of this process;
- ``frame_hops``: frames queued into a processor (``FrameProcessor.queue_frame``), and the
  same for caller audio (``InputAudioRawFrame``) and reply audio (``TTSAudioRawFrame``).

All per second of caller audio streamed. Counting costs CPU, so this runs apart from the CPU
race. Writes ``bench/twilio_messages.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from loguru import logger

from bench.emulator_process import EmulatorProcess
from bench.harness import serve
from bench.twilio_app_process import build_app

ROOT = Path(__file__).resolve().parent.parent
APPS = ("twilio", "stock")


@contextlib.contextmanager
def counting() -> Iterator[collections.Counter]:
    """Counters around the sends, writes and frame hops named in the module docstring."""
    from asyncio import selector_events

    import starlette.websockets as sw
    import websockets.asyncio.connection as wc
    from pipecat.processors.frame_processor import FrameProcessor

    counts: collections.Counter = collections.Counter()
    originals = [
        (selector_events._SelectorSocketTransport, "write"),
        (wc.Connection, "send"),
        (sw.WebSocket, "send_text"),
        (FrameProcessor, "queue_frame"),
    ]
    saved = [(cls, name, getattr(cls, name)) for cls, name in originals]
    write, send, send_text, queue_frame = (f for _, _, f in saved)

    def counted_write(self, data):
        counts["socket_writes"] += 1
        return write(self, data)

    async def counted_send(self, message, *args, **kwargs):
        counts["live_messages"] += 1
        return await send(self, message, *args, **kwargs)

    async def counted_send_text(self, data):
        counts["twilio_messages"] += 1
        return await send_text(self, data)

    async def counted_queue_frame(self, frame, *args, **kwargs):
        counts["frame_hops"] += 1
        kind = type(frame).__name__
        if kind in ("InputAudioRawFrame", "TTSAudioRawFrame"):
            counts[f"frame_hops_{kind}"] += 1
        return await queue_frame(self, frame, *args, **kwargs)

    for (cls, name, _), fn in zip(saved, (counted_write, counted_send, counted_send_text, counted_queue_frame), strict=True):
        setattr(cls, name, fn)
    try:
        yield counts
    finally:
        for cls, name, fn in saved:
            setattr(cls, name, fn)


async def measure(calls: int = 2, say=print) -> dict:
    """Counts per call-second for each app in :data:`APPS`."""
    from bench.telephony_cpu import round_of_calls

    out: dict = {"calls": calls, "per_call_s": {}}
    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        for name in APPS:
            workers: list = []
            async with serve(build_app(name, emu.endpoint, workers)) as served:
                await round_of_calls(served, 1, workers)  # warm up, not counted
                with counting() as counts:
                    call_s = await round_of_calls(served, calls, workers)
            out["per_call_s"][name] = {k: round(v / call_s, 1) for k, v in sorted(counts.items())}
            say(f"{name}: {out['per_call_s'][name]}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=2)
    p.add_argument("--json", type=Path, default=ROOT / "bench/twilio_messages.json")
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    result = asyncio.run(measure(args.calls))
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"result: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
