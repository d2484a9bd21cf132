"""Seams between sessions: goAway, a 1011 mid-reply, and a persona update, for both services.

Each scenario runs the same recorded call (real speech, :mod:`bench.rig` pipeline) through
our service and Pipecat's built-in one at the same time, each against an in-process emulator
of its own (records on the same monotonic clock as the call). Every move from one connection
to the next is measured the same way for both, from what the emulator received and what the
output transport played:

- ``caller_gap_ms``: no session heard the caller, from the last caller audio the old connection
  received to the first the new one received (minus one 20 ms frame). Audio held and replayed
  later closes this gap at the server, but the replay is late: see ``caller_lost_s``;
- ``reply_cut``: the old connection closed inside a reply (the emulator never finished it);
- ``bot_audio_gap_ms``: for a cut reply, the silence between the cut and the bot's next audio;
- ``recovery_ms``: for a cut reply, seam -> the bot's next audio; ``reply_taken_up``: whether
  that audio came before the caller's next turn ended (the reply was given again), or only
  as the answer to the caller's next turn;
- ``caller_lost_s`` (per call): caller audio the input transport pushed that no connection
  received (the built-in also drops what arrives before its first session is ready).

Ours also reports its own view of each move (``SwitchRecord.switch_gap_ms``: request ->
new session ready).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from pipecat.frames.frames import LLMUpdateSettingsFrame
from pipecat.workers.runner import WorkerRunner

from bench.calls import build_call_wav
from bench.emulator_process import Endpoint
from bench.rig import BenchCall, build_call, start_frames
from pipecat_gemini_live import LiveOptions
from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live.apps.latency.breakdown import percentiles
from pipecat_gemini_live.apps.report import bot_segments, caller_segments
from pipecat_gemini_live.apps.transports.wav import load_wav

FRAME_S = 0.020
# Long enough for the built-in service to count a connection as established (it treats every
# close as a failure and gives up after three in a row, unless a message arrived 10 s or more
# into the connection), short enough for several seams in a call.
LIFETIME_S = 25.0
GOAWAY_BEFORE_S = 5.0
CLIPS = (
    "cards_001.wav",
    "librivox_0880.wav",
    "cards_005.wav",
    "librivox_0930.wav",
    "cards_003.wav",
    "librivox_0890.wav",
    "cards_002.wav",
    "librivox_0920.wav",
)
PIRATE = "You are a pirate."
VARIANTS = {
    "ours_resume": ("ours", {"options": LiveOptions(goaway_strategy="resume")}),
    "ours_reseed": ("ours", {"options": LiveOptions(goaway_strategy="reseed")}),
    "builtin": ("builtin", {}),
}


def _audio_times(record) -> list[float]:
    return [record.opened_at + t for t, kind in record.messages if kind == "audio"]


def seams(emu: LiveEmulator, call: BenchCall, caller_wav: Path) -> list[dict]:
    """Every move between consecutive connections of one call (see the module docs)."""
    clock = call.clock
    spans = bot_segments(call.output.writes, gap_s=0.3)
    turns = caller_segments(load_wav(caller_wav))
    out = []
    for old, new in zip(emu.records, emu.records[1:]):
        old_audio, new_audio = _audio_times(old), _audio_times(new)
        if not old_audio or not new_audio:
            continue
        at = clock.at(old_audio[-1])
        gap_ms = max(0.0, (new_audio[0] - old_audio[-1] - FRAME_S) * 1000.0)
        cut = any(r.audio_s == 0.0 and not r.interrupted for r in old.replies)
        entry = {
            "at_s": round(at, 3),
            "close_code": old.close_code,
            "caller_gap_ms": round(gap_ms, 1),
            "reply_cut": cut,
            "bot_audio_gap_ms": None,
            "recovery_ms": None,
            "reply_taken_up": None,
        }
        if cut:
            # What was playing when the connection went (a reply may have been heard in part),
            # and the first bot audio that started after that.
            speaking = next((s for s in spans if s[0] < at <= s[1] + 0.3), None)
            after = next((s for s in spans if s[0] >= at and s is not speaking), None)
            if after is not None:
                entry["recovery_ms"] = round((after[0] - at) * 1000.0, 1)
                if speaking is not None:
                    entry["bot_audio_gap_ms"] = round((after[0] - speaking[1]) * 1000.0, 1)
                next_turn = next((t for t in turns if t[0] > at), None)
                entry["reply_taken_up"] = next_turn is None or after[0] < next_turn[1]
        out.append(entry)
    return out


def caller_lost_s(emu: LiveEmulator, call: BenchCall) -> float:
    """Caller audio pushed by the input transport that no connection received, seconds."""
    received = sum(r.audio_bytes for r in emu.records) / (2 * 16000)
    return round(max(0.0, call.input.frames_pushed * FRAME_S - received), 2)


async def _one(kind: str, kwargs: dict, config: EmulatorConfig, wav: Path, tmp: Path, name: str, persona_at_s: float | None = None) -> dict:
    async with LiveEmulator(config.model_copy(deep=True)) as emu:
        endpoint = Endpoint(emu.base_url, emu.ca_file, emu.api_key)
        call = build_call(kind, endpoint, load_wav(wav), tmp / f"{name}.wav", tail_quiet_s=1.0, service_kwargs=kwargs)
        if kind == "ours":
            call.service.clock.shared = call.clock.at
        runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
        await start_frames(call)
        await runner.add_workers(call.worker)
        if persona_at_s is not None:
            asyncio.get_running_loop().call_later(persona_at_s, lambda: asyncio.ensure_future(_update_persona(call)))
        # A service that never ends its call (the built-in defers the hang-up until a bot turn
        # that a connection close cut off "finishes") is a result, not a hang: it is cancelled.
        run = asyncio.create_task(runner.run())
        done, _ = await asyncio.wait({run}, timeout=load_wav(wav).duration_s + 40.0)
        finished = bool(done)
        if not finished:
            await call.worker.cancel()
            await asyncio.wait({run}, timeout=15.0)
        try:
            await emu.wait_closed(timeout=5)
        except TimeoutError:
            pass
        result = {
            "variant": name,
            "ended_at_hang_up": finished,
            "connections": len(emu.records),
            "close_codes": [r.close_code for r in emu.records],
            "seams": seams(emu, call, wav),
            "caller_lost_s": caller_lost_s(emu, call),
            "replies": [{"persona": r.persona, "interrupted": r.interrupted} for rec in emu.records for r in rec.replies],
            "errors": call.errors[:3],
        }
        if kind == "ours":
            result["switches"] = [
                {"reason": r.reason, "method": r.method, "switch_gap_ms": r.switch_gap_ms, "ok": r.ok}
                for r in call.service.handover.records
                if r.reason != "start"
            ]
        return result


async def _update_persona(call: BenchCall) -> None:
    delta = type(call.service).Settings(system_instruction=PIRATE)
    await call.worker.queue_frame(LLMUpdateSettingsFrame(delta=delta))


def _wav(tmp: Path, name: str, clips: tuple[str, ...], pause_s: float = 6.5) -> Path:
    parts: list = [1.0]
    for clip in clips:
        parts += [clip, pause_s]
    return build_call_wav(tmp / name, parts)


async def measure(go_away_turns: int = 8, fault_repeats: int = 3, say=print) -> dict:
    """goAway seams (ours resume / reseed, built-in), 1011 mid-reply, and a persona update.

    Args:
        go_away_turns: Caller turns of the goAway call (connections last :data:`LIFETIME_S`).
        fault_repeats: Calls per service with a 1011 close at the first reply.
        say: Progress printer.
    """
    base = dict(think_ms=200, default_silence_ms=500, pace=1.0)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        long_call = _wav(tmp, "goaway.wav", CLIPS[:go_away_turns])
        go_away = EmulatorConfig(**base, lifetime_s=LIFETIME_S, goaway_before_s=GOAWAY_BEFORE_S)
        runs = await asyncio.gather(
            *(_one(kind, kw, go_away, long_call, tmp, name) for name, (kind, kw) in VARIANTS.items())
        )
        go = {r["variant"]: r for r in runs}
        for name, r in go.items():
            say(f"  goAway {name:12s} connections {r['connections']}, seams {[s['caller_gap_ms'] for s in r['seams']]} ms caller gap, lost {r['caller_lost_s']} s")
        short = _wav(tmp, "fault.wav", ("librivox_0880.wav", "cards_005.wav"))
        fault = EmulatorConfig(**base, faults=["close:1011@reply#0"])
        faults: dict[str, list] = {"ours": [], "builtin": []}
        for i in range(fault_repeats):
            got = await asyncio.gather(
                *(_one(kind, {}, fault, short, tmp, f"{kind}_1011_{i}") for kind in ("ours", "builtin"))
            )
            for kind, r in zip(("ours", "builtin"), got):
                faults[kind].append(r)
                s = r["seams"][0] if r["seams"] else {}
                say(f"  1011 {kind:8s} #{i + 1}: recovery {s.get('recovery_ms')} ms, reply taken up {s.get('reply_taken_up')}, caller gap {s.get('caller_gap_ms')} ms")
        persona = await asyncio.gather(
            *(_one(kind, {}, EmulatorConfig(**base), short, tmp, f"{kind}_persona", persona_at_s=6.0) for kind in ("ours", "builtin"))
        )
        personas = {kind: [x["persona"] for x in r["replies"]] for kind, r in zip(("ours", "builtin"), persona)}
        say(f"  persona update after turn 1: replies by {personas}")
    return {
        "config": {"lifetime_s": LIFETIME_S, "goaway_before_s": GOAWAY_BEFORE_S, **base},
        "go_away": go,
        "go_away_summary": {name: _summarise(r["seams"]) for name, r in go.items()},
        "fault_1011": faults,
        "fault_1011_summary": {kind: _summarise([s for r in rs for s in r["seams"]]) for kind, rs in faults.items()},
        "persona_update": personas,
    }


def _summarise(seams_: list[dict]) -> dict:
    return {
        "seams": len(seams_),
        "caller_gap_ms": percentiles([s["caller_gap_ms"] for s in seams_]),
        "replies_cut": sum(s["reply_cut"] for s in seams_),
        "bot_audio_gap_ms": percentiles([s["bot_audio_gap_ms"] for s in seams_]),
        "recovery_ms": percentiles([s["recovery_ms"] for s in seams_]),
        "replies_taken_up": sum(bool(s["reply_taken_up"]) for s in seams_),
    }
