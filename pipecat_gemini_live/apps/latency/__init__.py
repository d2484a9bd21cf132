"""Where a call's audio latency goes: a per-stage trace and the per-turn breakdown of it.

See :mod:`.trace` (the media clocks and their hooks), :mod:`.breakdown` (milliseconds per
stage and turn) and :mod:`.emulator_tap` (the Live session's end, on the emulator).
"""

from .breakdown import TurnLatency, percentiles, summarize, turn_latencies
from .trace import INBOUND, OUTBOUND, STAGES, AudioPathTrace, MediaClock, TwilioWireTap

__all__ = [
    "INBOUND",
    "OUTBOUND",
    "STAGES",
    "AudioPathTrace",
    "MediaClock",
    "TurnLatency",
    "TwilioWireTap",
    "percentiles",
    "summarize",
    "turn_latencies",
]
