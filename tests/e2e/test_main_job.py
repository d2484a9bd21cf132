"""The main job end to end, on real recorded speech (16 kHz PCM and 8 kHz G.711 mu-law)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from gemini_live_emulator.config import ASR_ENV, LISTEN_TIMEOUT_ENV
from pipecat_gemini_live.apps.wav_call import WavCallOptions, run_wav_call

from ..conftest import ROOT, build_call

CALLER_16K = ROOT / "pipelines" / "audio" / "caller_3turns_16k.wav"
CALLER_8K = ROOT / "pipelines" / "audio" / "caller_3turns_8k_ulaw.wav"
SCRIPT = ROOT / "pipelines" / "wav_call.py"


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}  # no GOOGLE_API_KEY: the embedded emulator
    # Recognition as the test asks (tests/conftest.py: off unless the test is marked asr).
    env.update({k: os.environ[k] for k in (ASR_ENV, LISTEN_TIMEOUT_ENV) if k in os.environ})
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


@pytest.mark.parametrize("where", ["proc", "directory", "under a file"])
def test_unwritable_output_is_refused_before_the_call(tmp_path, where):
    (tmp_path / "afile").write_text("x")
    output = {"proc": "/proc/out.wav", "directory": str(tmp_path), "under a file": str(tmp_path / "afile" / "o.wav")}[
        where
    ]
    # Before the fix the job waited for ever (the output was opened when bot audio came); a
    # refusal comes before the emulator or any call starts, in a few seconds.
    proc = run_cli("--input", str(CALLER_16K), "--output", output, timeout=30)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"output {output}" in proc.stderr and ("cannot be written" in proc.stderr or "is a directory" in proc.stderr)
    assert "Traceback" not in proc.stderr and "turn 1" not in proc.stdout


def test_unwritable_report_is_refused_before_the_call(tmp_path):
    proc = run_cli("--input", str(CALLER_16K), "--output", str(tmp_path / "o.wav"), "--report", "/proc/r.json", timeout=30)
    assert proc.returncode == 2 and "report /proc/r.json: cannot be written" in proc.stderr
    assert "Traceback" not in proc.stderr and "turn 1" not in proc.stdout


def _with_rate(path, rate: int):
    data = bytearray(path.read_bytes())
    assert data[:4] == b"RIFF" and data[12:16] == b"fmt "
    block_align = int.from_bytes(data[32:34], "little")
    data[24:28] = rate.to_bytes(4, "little")
    data[28:32] = (rate * block_align % (1 << 32)).to_bytes(4, "little")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("rate", [1, 2_000_000_000])
def test_absurd_sample_rates_are_refused(tmp_path, rate):
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 1.0])
    _with_rate(wav, rate)
    proc = run_cli("--input", str(wav), "--output", str(tmp_path / "o.wav"), timeout=30)
    assert proc.returncode == 2 and f"sample rate of {rate} Hz" in proc.stderr, proc.stderr


def test_float_wav_is_scaled_not_silenced(tmp_path):
    from pipecat_gemini_live.apps.transports.wav import load_wav

    pcm = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 0.5])
    ref = load_wav(pcm)
    for subtype in ("FLOAT", "DOUBLE"):
        path = tmp_path / f"{subtype}.wav"
        sf.write(str(path), ref.samples.astype(np.float64) / 32768.0, ref.sample_rate, subtype=subtype)
        got = load_wav(path)
        assert got.samples.dtype == np.int16 and got.samples.shape == ref.samples.shape
        assert np.abs(got.samples.astype(int) - ref.samples.astype(int)).max() <= 1
    # Out-of-range floats are clipped, not wrapped.
    loud = tmp_path / "loud.wav"
    sf.write(str(loud), np.array([2.0, -2.0, 0.25], dtype=np.float32), 16000, subtype="FLOAT")
    assert load_wav(loud).samples[:, 0].tolist() == [32767, -32768, 8192]


@pytest.mark.timeout(90)
def test_a_float_call_is_answered_and_a_silent_one_fails(tmp_path):
    pcm = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 3.0])
    audio, rate = sf.read(str(pcm), dtype="float32")
    sf.write(str(tmp_path / "f.wav"), audio, rate, subtype="FLOAT")
    proc = run_cli("--input", str(tmp_path / "f.wav"), "--output", str(tmp_path / "o.wav"), "--think-ms", "100")
    assert proc.returncode == 0 and "1 of 1 caller turns answered" in proc.stdout, proc.stdout + proc.stderr
    sf.write(str(tmp_path / "quiet.wav"), np.zeros(16000 * 2, dtype=np.int16), 16000, subtype="PCM_16")
    proc = run_cli("--input", str(tmp_path / "quiet.wav"), "--output", str(tmp_path / "q.wav"))
    assert proc.returncode == 1 and "no caller speech found" in proc.stderr, proc.stdout + proc.stderr
