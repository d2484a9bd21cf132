"""The resampler trade-off behind the telephony path: hold, passband, rejection, CPU.

    .venv/bin/python -m bench.resamplers

Writes ``bench/resamplers.json``. Streams tones and noise through every quality of
:mod:`pipecat_gemini_live.audio.stream_resampler` (soxr presets, libsamplerate sinc filters, our polyphase FIR)
in telephone-sized frames (20 ms going 8 -> 16 kHz, 40 ms going 24 -> 8 kHz, as the Live API
sends replies) and prints, per quality and direction:

- hold: audio taken in but not yet given back, mean over the stream, ms (the latency the
  resampler adds, on top of the frame itself);
- gain at 300 / 3400 Hz: the telephone band's edges, dB;
- worst image (8 -> 16 kHz: the mirror of 1-3.4 kHz tones above 4.6 kHz) or alias (24 -> 8 kHz:
  4.6-11 kHz tones folded into the band), dB below the tone;
- CPU per second of audio, ms (this machine, this run).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np

from pipecat_gemini_live.audio.stream_resampler import QUALITIES, create_resampler

ROOT = Path(__file__).resolve().parent.parent
DIRECTIONS = ((8000, 16000, 20), (24000, 8000, 40))


async def stream(
    quality: str, x: np.ndarray, in_rate: int, out_rate: int, frame_ms: int
) -> tuple[np.ndarray, float, float]:
    """``(output, mean hold ms, CPU s)`` of ``x`` (int16) streamed in ``frame_ms`` frames."""
    r = create_resampler(quality)
    n = in_rate * frame_ms // 1000
    out, holds, cpu = [], [], 0.0
    taken = given = 0
    for i in range(0, x.size - n + 1, n):
        t = time.perf_counter()
        y = await r.resample(x[i : i + n].tobytes(), in_rate, out_rate)
        cpu += time.perf_counter() - t
        out.append(np.frombuffer(y, dtype=np.int16))
        taken += n
        given += len(y) // 2
        holds.append((taken / in_rate - given / out_rate) * 1000.0)
    skip = len(holds) // 4  # steady state
    return np.concatenate(out), float(np.mean(holds[skip:])), cpu


def level_db(y: np.ndarray, rate: int, freq: float, *others: float) -> float:
    """Amplitude of the ``freq`` component of ``y``, dB re full scale.

    Fitted by least squares together with ``others`` (the other tones present), so a strong
    tone does not leak into the measurement of a weak one.
    """
    t = np.arange(y.size) / rate
    cols = []
    for f in (freq, *others):
        cols += [np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)]
    coef, *_ = np.linalg.lstsq(np.stack(cols, axis=1), y.astype(float), rcond=None)
    return 20 * np.log10(max(np.hypot(coef[0], coef[1]), 1e-9) / 32768.0)


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 16384.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


async def measure(quality: str, in_rate: int, out_rate: int, frame_ms: int) -> dict:
    """One quality, one direction."""
    noise = (np.random.default_rng(0).standard_normal(in_rate * 5) * 3000).astype(np.int16)
    _, hold, cpu = await stream(quality, noise, in_rate, out_rate, frame_ms)
    ref = level_db(tone(1000, in_rate), in_rate, 1000)

    async def gain(f: float) -> float:
        y, _, _ = await stream(quality, tone(f, in_rate), in_rate, out_rate, frame_ms)
        return level_db(y[y.size // 3 :], out_rate, f) - ref

    worst = -300.0
    if out_rate > in_rate:
        for f in (1000, 2000, 3000, 3400):
            y, _, _ = await stream(quality, tone(f, in_rate), in_rate, out_rate, frame_ms)
            y = y[y.size // 3 :]
            worst = max(
                worst, level_db(y, out_rate, in_rate - f, f) - level_db(y, out_rate, f, in_rate - f)
            )
    else:
        nyq = out_rate / 2
        for f in (4600, 5000, 6000, 7000, 9000, 11000):
            y, _, _ = await stream(quality, tone(f, in_rate), in_rate, out_rate, frame_ms)
            folded = abs(((f + nyq) % out_rate) - nyq)
            worst = max(worst, level_db(y[y.size // 3 :], out_rate, folded) - ref)
    return {
        "hold_ms": round(hold, 1),
        "gain_300_db": round(await gain(300), 2),
        "gain_3400_db": round(await gain(3400), 2),
        "worst_image_or_alias_db": round(worst, 1),
        "cpu_ms_per_s": round(cpu / 5 * 1000, 2),
    }


async def main(out: Path = ROOT / "bench/resamplers.json") -> dict:
    """Measure every quality in both directions; print the table and write ``out`` (JSON)."""
    result: dict = {}
    for in_rate, out_rate, frame_ms in DIRECTIONS:
        key = f"{in_rate}->{out_rate}"
        result[key] = {"frame_ms": frame_ms, "qualities": {}}
        print(f"\n{in_rate} -> {out_rate} Hz, {frame_ms} ms frames")
        print(
            f"  {'quality':14s} {'hold ms':>8s} {'300 Hz dB':>10s} {'3400 Hz dB':>11s} {'image/alias dB':>15s} {'CPU ms/s':>9s}"
        )
        for q in QUALITIES:
            m = await measure(q, in_rate, out_rate, frame_ms)
            result[key]["qualities"][q] = m
            print(
                f"  {q:14s} {m['hold_ms']:8.1f} {m['gain_300_db']:10.2f} {m['gain_3400_db']:11.2f} "
                f"{m['worst_image_or_alias_db']:15.1f} {m['cpu_ms_per_s']:9.2f}"
            )
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nresult: {out}")
    return result


if __name__ == "__main__":
    asyncio.run(main())
