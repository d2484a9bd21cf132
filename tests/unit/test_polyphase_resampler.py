"""The polyphase FIR resampler: passband, rejection, hold, continuity across chunks, flush."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecat_gemini_live.audio.polyphase import PolyphaseResampler, design_lowpass
from pipecat_gemini_live.audio.stream_resampler import create_resampler

PHONE = ((8000, 16000, 160), (24000, 8000, 960), (16000, 8000, 320), (48000, 16000, 960))


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 16000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def level_db(y: np.ndarray, rate: int, freq: float) -> float:
    """Amplitude of the ``freq`` component of ``y`` (least-squares fit), dB re 16000."""
    t = np.arange(y.size) / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y.astype(float), rcond=None)
    return 20 * np.log10(max(np.hypot(*coef), 1e-9) / 16000.0)


def stream(x: np.ndarray, in_rate: int, out_rate: int, chunk: int) -> tuple[np.ndarray, list[int]]:
    """``x`` through one resampler in ``chunk``-sample pieces, flushed; also the hold after each."""

    async def run():
        r = PolyphaseResampler()
        out, holds = [], []
        for i in range(0, x.size, chunk):
            out.append(await r.resample(x[i : i + chunk].tobytes(), in_rate, out_rate))
            holds.append(r.held_samples)
        out.append(await r.flush())
        return np.frombuffer(b"".join(out), dtype=np.int16), holds

    return asyncio.run(run())


@pytest.mark.parametrize(("in_rate", "out_rate", "chunk"), PHONE)
def test_flat_across_the_passband(in_rate, out_rate, chunk):
    edge = 0.85 * min(in_rate, out_rate) / 2  # 3400 Hz for the phone ratios
    for f in (300.0, 1000.0, edge):
        y, _ = stream(tone(f, in_rate), in_rate, out_rate, chunk)
        assert abs(level_db(y[y.size // 4 : -y.size // 4], out_rate, f)) < 0.05, f


@pytest.mark.parametrize(("in_rate", "out_rate", "chunk"), [(24000, 8000, 960), (16000, 8000, 320), (48000, 16000, 960)])
def test_rejects_what_would_alias_into_the_band(in_rate, out_rate, chunk):
    nyq = out_rate / 2
    for f in (1.15 * nyq, 1.5 * nyq, 0.9 * in_rate / 2):
        y, _ = stream(tone(f, in_rate), in_rate, out_rate, chunk)
        folded = abs(((f + nyq) % out_rate) - nyq)
        assert level_db(y[y.size // 4 : -y.size // 4], out_rate, folded) < -70, f


def test_up_sampling_leaves_no_image():
    for f in (1000.0, 3000.0, 3400.0):
        y, _ = stream(tone(f, 8000), 8000, 16000, 160)
        assert level_db(y[y.size // 4 : -y.size // 4], 16000, 8000 - f) < -70, f


@pytest.mark.parametrize(("in_rate", "out_rate", "chunk"), PHONE)
def test_holds_about_two_ms_and_flush_gives_everything_back(in_rate, out_rate, chunk):
    x = tone(1000, in_rate, 0.5)
    y, holds = stream(x, in_rate, out_rate, chunk)
    assert y.size == x.size * out_rate // in_rate
    hold_ms = 1000 * max(holds) / out_rate
    assert 0.5 < hold_ms < 3.0


def test_output_is_time_aligned_with_input():
    x = np.zeros(1600, dtype=np.int16)
    x[800] = 16000  # an impulse at 100 ms
    y, _ = stream(x, 8000, 16000, 160)
    assert abs(int(np.argmax(np.abs(y))) - 1600) <= 1


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_chunk_boundaries_change_nothing(cuts):
    x = (np.random.default_rng(1).standard_normal(4000) * 4000).astype(np.int16)
    whole, _ = stream(x, 24000, 8000, x.size)
    edges = sorted(set([0, *cuts, x.size]))

    async def run():
        r = PolyphaseResampler()
        out = [await r.resample(x[a:b].tobytes(), 24000, 8000) for a, b in zip(edges, edges[1:], strict=False)]
        out.append(await r.flush())
        return np.frombuffer(b"".join(out), dtype=np.int16)

    assert np.array_equal(asyncio.run(run()), whole)


def test_reset_drops_the_held_audio_and_refuses_other_rates():
    async def run():
        r = PolyphaseResampler()
        await r.resample(tone(1000, 8000, 0.1).tobytes(), 8000, 16000)
        assert r.held_samples > 0
        await r.reset()
        assert r.held_samples == 0 and await r.flush() == b""
        with pytest.raises(ValueError, match="one resampler per stream"):
            await r.resample(b"\0\0", 24000, 8000)
        with pytest.raises(ValueError, match="whole samples"):
            await r.resample(b"\0", 8000, 16000)

    asyncio.run(run())


def test_a_ratio_with_many_phases_goes_to_libsamplerate():
    x = tone(1000, 44100, 0.5)

    async def run():
        r = create_resampler("polyphase")
        y = await r.resample(x.tobytes(), 44100, 16000)
        return np.frombuffer(y + await r.flush(), dtype=np.int16)

    y = asyncio.run(run())
    assert abs(y.size - x.size * 16000 // 44100) <= 2
    assert abs(level_db(y[2000:-2000], 16000, 1000)) < 0.1


def test_the_filter_has_odd_length_and_whole_sample_delay():
    for up, down in ((2, 1), (1, 3), (2, 3)):
        h = design_lowpass(up, down)
        assert h.size % 2 == 1 and ((h.size - 1) // 2) % down == 0
        assert abs(h.sum() - up) < 1e-9
