"""Opt-in soak: a 30-minute call, time-scaled ten times, through goAways and random faults.

    make test-slow     (or: .venv/bin/python -m pytest -m slow tests/soak)

The caller takes a turn every 15 s of call time (real speech); the emulator ends each
connection after 10 simulated minutes with goAway 50 s ahead, and faults hit random
connections. Every caller turn must be answered, no caller frame dropped, and the process's
memory must stay flat.
"""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
import soundfile as sf

from pipecat_gemini_live import LiveOptions
from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live.apps.wav_call import WavCallOptions, run_wav_call

from ..conftest import speech

CALL_S = 30 * 60
TURN_EVERY_S = 15
SPEED = 10.0
UTTERANCES = ["cards_001.wav", "cards_003.wav", "cards_005.wav", "librivox_0880.wav", "librivox_0930.wav"]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * 4096 / 2**20


def build_long_call(path) -> int:
    rate = 16000
    audio = np.zeros(CALL_S * rate, dtype=np.int16)
    turns = 0
    for i, start in enumerate(range(2, CALL_S - TURN_EVERY_S, TURN_EVERY_S)):
        utterance = speech(UTTERANCES[i % len(UTTERANCES)])
        audio[start * rate : start * rate + utterance.size] = utterance
        turns += 1
    sf.write(str(path), audio, rate, subtype="PCM_16")
    return turns


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_thirty_minute_call(tmp_path):
    wav = tmp_path / "long_call.wav"
    turns = build_long_call(wav)
    rng = random.Random(7)
    faults = [
        f"{rng.choice(['close:1011', 'drop', 'close:1000'])}@{rng.choice(['speaking', 'reply'])}#{i}"
        for i in rng.sample(range(1, 12), 5)
    ]
    config = EmulatorConfig(think_ms=200, time_scale=SPEED, lifetime_s=600, goaway_before_s=50, faults=faults)
    samples: list[tuple[float, float]] = []
    async with LiveEmulator(config) as emu:
        opts = WavCallOptions(input=wav, output=tmp_path / "out.wav", force_emulator=True, speed=SPEED)

        def sample(_line: str) -> None:
            samples.append((time.monotonic(), rss_mb()))

        report = await run_wav_call(
            opts, emulator=emu, say=sample, service_kwargs={"options": LiveOptions(stall_timeout_s=3.0)}
        )
        fired = [f.kind.value for _, f in emu.faults.fired]
    unanswered = [t for t in report["turns"] if t["bot_audio_start_s"] is None]
    assert len(report["turns"]) == turns and not unanswered, unanswered[:3]
    assert report["audio_frames"]["in_dropped"] == 0
    reasons = [s["reason"] for s in report["switches"]]
    assert reasons.count("goaway") >= 2, reasons
    assert fired, "no fault fired"
    # Memory is flat: the last third of the call grows the process by less than 30 MiB.
    third = len(samples) // 3
    assert samples[-1][1] - samples[third][1] < 30, (samples[third], samples[-1])
    print(f"turns={turns} switches={reasons} faults={fired} rss={samples[third][1]:.0f}->{samples[-1][1]:.0f} MiB")
