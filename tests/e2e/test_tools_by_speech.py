"""The main job's --tools-demo on the emulator: the model calls get_weather because the caller
asked about the weather in a city (words recognised from the audio; no turn-number script)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gemini_live_emulator.model.asr import word_error_rate

from ..conftest import ROOT, build_call


@pytest.mark.asr
def test_a_spoken_weather_question_calls_get_weather_with_the_city(tmp_path):
    # Turn 1: a LibriVox sentence (nothing to call); turn 2: "what is the weather in Chicago"
    # (synthetic speech, tests/data/README.md).
    call = build_call(tmp_path / "call.wav", [1.0, "librivox_0880.wav", 5.0, "espeak_weather_chicago.wav", 7.0])
    out, rep = tmp_path / "out.wav", tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "pipelines" / "wav_call.py"), "--input", str(call), "--output", str(out),
         "--report", str(rep), "--tools-demo"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(rep.read_text())
    calls = report["tool_calls"]
    assert [(c["name"], c["args"]) for c in calls] == [("get_weather", {"city": "Chicago"})], calls
    assert calls[0]["turn"] == 2 and calls[0]["result"]["city"] == "Chicago"
    # The input transcripts in the report carry the caller's words.
    said = ["he was not an ill disposed young man", "what is the weather in chicago"]
    heard = [t["input_transcript"] for t in report["turns"]]
    assert len(heard) == 2, report["turns"]
    for reference, text in zip(said, heard):
        assert word_error_rate(reference, text) <= 0.5, (reference, text)
    # The reply after the call repeats the tool's result.
    assert "get_weather returned" in report["turns"][1]["output_transcript"]
