"""The call report of a WAV call: turns, latencies, sessions, switches, audio accounting.

Times are seconds on the call's clock (0 = first input frame). A caller turn is a speech
segment of the input recording (energy VAD over the file itself, so the reference does not
depend on what the server heard); its reply is the first reply the service began after the
segment ended and before the next one did, and the turn counts as answered from the first of
that reply's audio the output transport played in that window. Bot audio alone is not an
answer: a reply's playback that resumes after an underrun (a loaded machine) is the same reply,
and a reply the service asked for to go on with one a closing connection cut answers nothing
new (``ReplyRecord.goes_on``; explorer seed 9932 had such a reply counted as the answer to the
turn said during the outage).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gemini_live_emulator.model.vad import EnergyVAD, VadParams

# Switches that change who the bot is (as opposed to start / goaway / reconnect).
PERSONA_REASONS = ("persona", "settings", "tools", "context")
from .transports.wav import WavAudio, WavTransport


def caller_segments(audio: WavAudio, silence_ms: int = 500, threshold_dbfs: float = -45.0) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` of each speech segment in a recording."""
    vad = EnergyVAD(VadParams(threshold_dbfs=threshold_dbfs, silence_ms=silence_ms), audio.sample_rate)
    segments: list[tuple[float, float]] = []
    start = None
    for event in vad.feed(audio.mono().tobytes()) + vad.flush():
        if event.kind == "start":
            start = event.at_s
        elif start is not None:
            segments.append((start, event.at_s))
            start = None
    return segments


def bot_segments(writes: list[tuple[float, float]], gap_s: float = 0.3) -> list[tuple[float, float]]:
    """Merge back-to-back output writes into spans of bot speech."""
    spans: list[tuple[float, float]] = []
    for start, end in writes:
        if spans and start - spans[-1][1] <= gap_s:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


@dataclass
class CallReporter:
    """Collects what happens on a WAV call and writes the JSON report.

    Args:
        transport: The call's WAV transport.
        service: The Gemini Live service of the call.
        model: Model name for the report.
        backend: ``"emulator"`` or ``"gemini"``.
    """

    transport: WavTransport
    service: Any
    model: str
    backend: str
    errors: list[str] = field(default_factory=list)
    sessions: list[dict] = field(default_factory=list)
    caller: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self):
        self.caller = caller_segments(self.transport.source)
        svc = self.service
        svc.clock.shared = self.clock  # switch times on the same clock as the turns

        @svc.event_handler("on_session_started")
        async def _started(_svc, session):
            self.sessions.append(
                {
                    "index": session.index,
                    "started_s": round(self.clock(session.opened_at), 3),
                    "ended_s": None,
                    "reason": session.reason,
                    "system_instruction": session.system_instruction,
                    "close_code": None,
                }
            )

        @svc.event_handler("on_session_ended")
        async def _ended(_svc, session, end):
            for entry in self.sessions:
                if entry["index"] == session.index:
                    entry["ended_s"] = round(self.clock(session.ended_at), 3)
                    entry["close_code"] = end.code
                    entry["close_reason"] = end.reason
                    entry["closed_by_us"] = end.by_us

    def clock(self, monotonic: float | None) -> float:
        """A ``time.monotonic()`` value on the call clock."""
        return self.transport.clock.at(monotonic) if monotonic is not None else 0.0

    def on_error(self, message: str) -> None:
        """Record an error the pipeline reported."""
        self.errors.append(message)

    def turn_for_reply(self, reply) -> dict | None:
        """The report entry of the caller turn a reply answers (None if it answers none)."""
        turns = self.turns()
        for turn in turns:
            if turn.get("reply_index") == reply.index:
                return turn
        return None

    def turns(self) -> list[dict]:
        """One entry per caller speech segment of the recording."""
        writes = self.transport.output().writes
        spans = bot_segments(writes)
        replies = [r for r in self.service.replies if not r.goes_on]
        out = []
        for i, (start, end) in enumerate(self.caller):
            limit = self.caller[i + 1][1] if i + 1 < len(self.caller) else float("inf")
            reply = next(
                (r for r in replies if end - 0.05 <= self.clock(r.started_at) < limit), None
            )
            span = None
            if reply is not None:
                # From the reply's first audio played to the end of the stretch of bot speech it
                # is part of. Audio plays after it arrives, so that is the first write still
                # going when the reply began; one that began while earlier audio played (queued
                # behind it, no gap) is taken to start when it began.
                begun = self.clock(reply.started_at)
                first = next((w for w in writes if w[1] > begun and w[0] < limit), None)
                if first is not None:
                    at = max(first[0], begun)
                    whole = next((b for b in spans if b[0] <= at <= b[1]), first)
                    span = (at, whole[1])
            turn: dict[str, Any] = {
                "index": i + 1,
                "user_speech_start_s": round(start, 3),
                "user_speech_end_s": round(end, 3),
                "bot_audio_start_s": round(span[0], 3) if span else None,
                "bot_audio_end_s": round(span[1], 3) if span else None,
                "response_latency_ms": round((span[0] - end) * 1000.0, 1) if span else None,
                "output_transcript": reply.text if reply else "",
                "input_transcript": reply.caller_text if reply else "",
                "interrupted": reply.interrupted if reply else False,
                "system_instruction": reply.system_instruction if reply else None,
                "session_index": reply.session_index if reply else None,
                "reply_index": reply.index if reply else None,
            }
            out.append(turn)
        return out

    def seams(self, switches: list[dict]) -> list[dict]:
        """Each move between sessions as the caller heard it.

        ``bot_audio_gap_ms`` is the silence the move put into the bot's speech (0 when the bot
        was not speaking at the seam); ``recovery_ms`` is, for a move that cut a reply, the time
        from the seam to the bot's next audio.
        """
        spans = bot_segments(self.transport.output().writes)
        out = []
        for sw in switches:
            if sw["reason"] == "start" or not sw["ok"]:
                continue
            at = sw["at_s"]
            speaking = next((b for b in spans if b[0] <= at <= b[1] + 0.05), None)
            after = next((b for b in spans if b[0] > at), None)
            entry = {
                "reason": sw["reason"],
                "at_s": round(at, 3),
                "method": sw["method"],
                "switch_gap_ms": round(sw["switch_gap_ms"], 1),
                "bot_audio_gap_ms": 0.0,
                "recovery_ms": None,
            }
            if speaking is not None and speaking[1] < (after[0] if after else float("inf")):
                cut = speaking[1] < at + 0.1 or sw["reason"] == "reconnect"
                if after is not None and cut:
                    entry["bot_audio_gap_ms"] = round((after[0] - speaking[1]) * 1000.0, 1)
                    entry["recovery_ms"] = round((after[0] - at) * 1000.0, 1)
            out.append(entry)
        return out

    def build(self) -> dict:
        """The report as a JSON-ready dict."""
        t = self.transport
        svc = self.service
        src = t.source
        counters = svc.audio_counters
        switches = [asdict(r) for r in svc.handover.records]
        return {
            "model": self.model,
            "backend": self.backend,
            "input": {
                "path": str(src.path),
                "sample_rate": src.sample_rate,
                "channels": src.channels,
                "encoding": src.subtype,
                "duration_s": round(src.duration_s, 3),
            },
            "output": {
                "path": str(t.output().path),
                "sample_rate": t.output().out_rate,
                "stereo": t.output().stereo,
                "duration_s": round(t.output().duration_s, 3),
            },
            "turns": self.turns(),
            "replies": [
                {
                    "index": r.index,
                    "started_s": round(self.clock(r.started_at), 3),
                    "ended_s": round(self.clock(r.ended_at), 3) if r.ended_at else None,
                    "text": r.text,
                    "interrupted": r.interrupted,
                    "goes_on": r.goes_on,
                    "session_index": r.session_index,
                }
                for r in svc.replies
            ],
            "sessions": self.sessions,
            "switches": switches,
            "persona_switches": [s for s in switches if s["reason"] in PERSONA_REASONS],
            "seams": self.seams(switches),
            "audio_frames": {
                "in_pushed": t.input().frames_pushed,
                "in_sent": counters.sent,
                "in_held": counters.held,
                "in_dropped": counters.dropped,
                "in_replayed": counters.replayed,
                "out_received": svc.audio_out_frames,
            },
            "tool_calls": self.tool_calls(),
            "errors": list(self.errors),
        }

    def tool_calls(self) -> list[dict]:
        """Every function call the model made: turn, name, args, result, latency, cancelled."""
        out = []
        turns = self.turns()
        for record in self.service.tools.calls.values():
            at = self.clock(record.started_at)
            turn = next((t["index"] for t in reversed(turns) if t["user_speech_end_s"] <= at), None)
            out.append(
                {
                    "turn": turn,
                    "at_s": round(at, 3),
                    "name": record.name,
                    "args": record.args,
                    "result": record.result,
                    "latency_ms": round(record.latency_ms, 1) if record.latency_ms is not None else None,
                    "cancelled": record.cancelled,
                    "session_index": record.session_index,
                }
            )
        return out

    def write(self, path: str | Path) -> dict:
        """Build the report and write it as JSON; returns it."""
        report = self.build()
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        return report
