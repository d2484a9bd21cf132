"""The custom composition example, run as a user runs it, against the embedded emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf

from ..conftest import ROOT, build_call

SCRIPT = ROOT / "pipelines" / "custom_composition.py"


def test_keyword_switch_and_transcript_log(tmp_path):
    wav = build_call(tmp_path / "caller.wav", [0.3, "cards_001.wav", 6.0, "cards_003.wav", 1.0])
    out, log = tmp_path / "bot.wav", tmp_path / "transcript.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY")}
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--input",
            str(wav),
            "--output",
            str(out),
            "--log",
            str(log),
            "--on-bot",
            "no earlier turns=concierge",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "on the emulator" in proc.stdout
    assert "Persona switches: bot said 'no earlier turns' -> concierge" in proc.stdout

    turns = [json.loads(line) for line in log.read_text().splitlines()]
    assert [t["role"] for t in turns] == ["user", "bot", "user", "bot"], turns
    assert turns[0]["text"].startswith("(caller speech")  # recognition off: the suite's default
    # The rule fired after the first reply, so the second comes from the concierge.
    assert turns[1]["text"].startswith("You are a helpful assistant") and "no earlier turns" in turns[1]["text"]
    assert turns[3]["text"].startswith("You are a polite hotel concierge")
    assert not any(t["interrupted"] for t in turns)
    assert [t["t_s"] for t in turns] == sorted(t["t_s"] for t in turns)

    audio, rate = sf.read(str(out), dtype="int16")
    assert rate == 24000 and np.sqrt(np.mean(audio.astype(float) ** 2)) > 200
