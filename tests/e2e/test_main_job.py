"""The main job end to end, on real recorded speech (16 kHz PCM and 8 kHz G.711 mu-law)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from pipecat_gemini_live.wav_call import WavCallOptions, run_wav_call

from ..conftest import ROOT, build_call

CALLER_16K = ROOT / "pipelines" / "audio" / "caller_3turns_16k.wav"
CALLER_8K = ROOT / "pipelines" / "audio" / "caller_3turns_8k_ulaw.wav"
SCRIPT = ROOT / "pipelines" / "wav_call.py"


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}  # no GOOGLE_API_KEY: the embedded emulator
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


def check_three_turns(report: dict) -> None:
    turns = report["turns"]
    assert len(turns) == 3
    for turn in turns:
        assert turn["bot_audio_start_s"] is not None, turn
        # 500 ms end-of-speech silence + 200 ms think time, plus what the client adds.
        assert 600 < turn["response_latency_ms"] < 1500, turn
        assert "helpful assistant" in turn["output_transcript"]
        assert not turn["interrupted"]
    assert [t["output_transcript"].split("I remember ")[1].split(" ")[0] for t in turns] == ["no", "two", "four"]
    assert report["audio_frames"]["in_dropped"] == 0
    assert report["errors"] == []
    (session,) = report["sessions"]
    assert session["close_code"] == 1000 and session["closed_by_us"]


def test_cli_call_at_16k(tmp_path):
    out, rep = tmp_path / "call.wav", tmp_path / "report.json"
    proc = run_cli("--input", str(CALLER_16K), "--output", str(out), "--report", str(rep), "--stereo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "turn 3:" in proc.stdout and str(out) in proc.stdout and str(rep) in proc.stdout
    report = json.loads(rep.read_text())
    assert report["backend"] == "emulator" and report["input"]["sample_rate"] == 16000
    check_three_turns(report)
    audio, rate = sf.read(str(out), dtype="int16")
    assert rate == 24000 and audio.shape[1] == 2
    assert report["output"]["duration_s"] >= 30.0
    # The bot's channel is loud where the report says it spoke and quiet before its first turn.
    bot = audio[:, 1].astype(float)
    first = report["turns"][0]
    spoken = bot[int(first["bot_audio_start_s"] * rate) : int(first["bot_audio_end_s"] * rate)]
    assert np.sqrt(np.mean(spoken**2)) > 500
    assert np.abs(bot[: int(first["user_speech_end_s"] * rate)]).max() == 0
    # The caller's channel holds the recording.
    assert np.abs(audio[:, 0]).max() > 5000


async def test_call_at_8k_mu_law(tmp_path):
    opts = WavCallOptions(input=CALLER_8K, output=tmp_path / "call.wav", report=tmp_path / "r.json", force_emulator=True)
    lines: list[str] = []
    report = await run_wav_call(opts, say=lines.append)
    assert report["input"]["encoding"] == "ULAW" and report["input"]["sample_rate"] == 8000
    check_three_turns(report)
    assert sum("turn " in line for line in lines) == 3
    assert json.loads((tmp_path / "r.json").read_text())["turns"] == report["turns"]


async def test_stereo_48k_caller(tmp_path):
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 3.5, "cards_003.wav", 2.0], rate=48000, channels=2)
    opts = WavCallOptions(input=wav, output=tmp_path / "out.wav", force_emulator=True, think_ms=100)
    report = await asyncio.wait_for(run_wav_call(opts, say=None), 90)
    assert report["input"]["channels"] == 2 and report["input"]["sample_rate"] == 48000
    assert len(report["turns"]) == 2 and all(t["bot_audio_start_s"] for t in report["turns"])
    assert report["audio_frames"]["in_dropped"] == 0


def test_empty_wav_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(str(path), np.zeros(0, dtype=np.int16), 16000, subtype="PCM_16")
    proc = run_cli("--input", str(path), "--output", str(tmp_path / "o.wav"), timeout=60)
    assert proc.returncode == 2 and "no audio frames" in proc.stderr


def test_non_wav_is_a_clear_error(tmp_path):
    path = tmp_path / "fake.wav"
    path.write_bytes(b"ID3\x03\x00" + bytes(4000))
    proc = run_cli("--input", str(path), "--output", str(tmp_path / "o.wav"), timeout=60)
    assert proc.returncode == 2 and "not a readable WAV" in proc.stderr


def test_bad_persona_argument_is_a_clear_error(tmp_path):
    proc = run_cli("--input", str(CALLER_16K), "--output", str(tmp_path / "o.wav"), "--persona-at", "soon", timeout=60)
    assert proc.returncode == 2 and "SECONDS[@LANG]=INSTRUCTION" in proc.stderr


@pytest.mark.timeout(120)
async def test_truncated_wav_is_played_as_far_as_it_goes(tmp_path):
    wav = build_call(tmp_path / "t.wav", [0.3, "cards_001.wav", 3.5, "cards_005.wav", 3.0])
    data = wav.read_bytes()
    wav.write_bytes(data[: int(len(data) * 0.6)])  # cut inside the second utterance
    opts = WavCallOptions(input=wav, output=tmp_path / "out.wav", force_emulator=True, think_ms=100)
    report = await run_wav_call(opts, say=None)
    assert 6.0 < report["input"]["duration_s"] < 7.5  # the header claims 11.4 s
    # The cut utterance is a turn like any other: the line goes quiet and the bot answers.
    assert len(report["turns"]) == 2 and all(t["bot_audio_start_s"] is not None for t in report["turns"])
    assert report["errors"] == []
