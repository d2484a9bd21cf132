"""The low-latency stream resampler: what it holds, that it loses and invents nothing, bad input."""

import numpy as np
import pytest
import soxr

from pipecat_gemini_live import AudioResampler
from pipecat_gemini_live.audio.stream_resampler import QUALITIES, SincStreamResampler, create_resampler


def noise(rate: int, seconds: float, top_hz: float, seed: int = 0) -> np.ndarray:
    """Noise with nothing above ``top_hz`` (where good filters differ only in their transition band)."""
    x = np.random.default_rng(seed).standard_normal(int(rate * seconds)) * 4000
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(x.size, 1 / rate) > top_hz] = 0
    return np.fft.irfft(spectrum, x.size).astype(np.int16)


async def stream(r, x: np.ndarray, in_rate: int, out_rate: int, frame_ms: int) -> list[bytes]:
    n = in_rate * frame_ms // 1000
    return [
        await r.resample(x[i : i + n].tobytes(), in_rate, out_rate) for i in range(0, x.size, n)
    ]


@pytest.mark.parametrize(
    "in_rate,out_rate,frame_ms", [(8000, 16000, 20), (24000, 8000, 40), (48000, 16000, 20)]
)
async def test_sinc_medium_holds_only_a_few_ms_and_flush_returns_the_rest(
    in_rate, out_rate, frame_ms
):
    x = noise(in_rate, 1.0, 0.4 * min(in_rate, out_rate))
    r = SincStreamResampler("sinc_medium")
    pieces = await stream(r, x, in_rate, out_rate, frame_ms)
    frame_out = out_rate * frame_ms // 1000
    # Every frame gives audio back at once; what is held is the filter's half-length (~6 ms),
    # where soxr VHQ returns nothing for the first 60-160 ms.
    assert all(len(p) > 0 for p in pieces)
    assert len(pieces[0]) // 2 >= frame_out - out_rate * 0.008
    assert r.held_samples <= out_rate * 0.008
    tail = await r.flush()
    out = np.frombuffer(b"".join(pieces) + tail, dtype=np.int16)
    assert out.size == x.size * out_rate // in_rate  # nothing lost, nothing invented
    ref = soxr.resample(x.astype(np.float32), in_rate, out_rate, quality="VHQ")
    n = min(out.size, ref.size) - out_rate // 50  # the last 20 ms differ by how the end is padded
    assert np.corrcoef(out[:n], ref[:n])[0, 1] > 0.9999  # aligned with the input (no added delay)


async def test_flush_starts_a_new_stream_and_reset_drops_the_held_audio():
    r = SincStreamResampler()
    x = noise(8000, 0.2, 3400)
    await stream(r, x, 8000, 16000, 20)
    assert await r.flush()
    assert r.held_samples == 0
    assert await r.flush() == b""
    first = await r.resample(x[:160].tobytes(), 8000, 16000)
    assert len(first) // 2 < 320  # a new stream: the filter fills again
    await r.reset()
    assert r.held_samples == 0 and await r.flush() == b""


async def test_bad_input_is_refused_with_a_clear_error():
    r = SincStreamResampler()
    with pytest.raises(ValueError, match="whole samples"):
        await r.resample(b"\x00\x01\x02", 8000, 16000)
    await r.resample(b"\x00\x00" * 160, 8000, 16000)
    with pytest.raises(ValueError, match="one resampler per stream"):
        await r.resample(b"\x00\x00" * 160, 16000, 8000)
    assert await r.resample(b"\x01\x02", 8000, 8000) == b"\x01\x02"  # same rate: passed through
    with pytest.raises(ValueError, match="converter must be one of"):
        SincStreamResampler("linear")
    with pytest.raises(ValueError, match="unknown resampler quality"):
        create_resampler("best")
    with pytest.raises(ValueError, match="unknown resampler quality"):
        AudioResampler(quality="sinc-medium")


@pytest.mark.parametrize("quality", QUALITIES)
async def test_every_quality_resamples_a_stream(quality):
    r = create_resampler(quality)
    out = b"".join(await stream(r, noise(8000, 0.5, 3400), 8000, 16000, 20))
    # Filled filters give back nearly all of it (VHQ holds up to ~100 ms of the 500).
    assert 0.75 * 8000 <= len(out) // 2 <= 8000
