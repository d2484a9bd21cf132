"""Make the synthetic (eSpeak NG) recordings of tests/data; see README.md for why they exist.

    .venv/bin/python tests/data/make_synthetic.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from gemini_live_emulator.model.voice import _espeak

HERE = Path(__file__).resolve().parent
RATE = 16000
FILES = {
    # file: (text, eSpeak NG voice, words per minute)
    "espeak_weather_chicago.wav": ("What is the weather in Chicago?", "en-us+f2", 165),
}


def main() -> None:
    engine = _espeak()
    if engine is None:
        raise SystemExit("eSpeak NG is not available")
    for name, (text, voice, wpm) in FILES.items():
        samples = engine.synth(text, voice, wpm)
        pcm = np.clip(soxr.resample(samples, engine.rate, RATE), -32768, 32767).astype(np.int16)
        sf.write(HERE / name, pcm, RATE, subtype="PCM_16")
        print(f"{name}: {pcm.size / RATE:.2f} s")


if __name__ == "__main__":
    main()
