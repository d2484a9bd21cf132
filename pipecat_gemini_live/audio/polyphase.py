"""A streaming polyphase FIR resampler for fixed rational ratios: low latency, a few MACs a sample.

Why our own filter. The phone path converts 8 -> 16 kHz (caller to the Live API) and 24 -> 8
kHz (replies to the caller) on every frame of every call. The well-kept streaming resamplers
measured for it (``bench/resamplers.py``, figures in ``bench/resamplers.json``) each miss one of
the two needs: soxr's ``ResampleStream`` is cheap but holds 20-80 ms at its filtering presets
(its ``QQ`` preset holds nothing but has no anti-alias filter); libsamplerate's ``sinc_medium``
holds ~6 ms but runs a long variable-ratio sinc interpolator, several times the work a fixed
ratio needs; scipy's ``resample_poly`` keeps no state across chunks (an overlap re-filters the
history every frame) and would add a 40 MB dependency for one function. A fixed ratio ``L/M``
is a textbook polyphase FIR (a Kaiser-windowed sinc split into ``L`` phases), written here in a
few numpy calls per chunk: one strided view and one matrix-vector product per phase.

Filter design: the cut-off sits at the lower Nyquist frequency ``f_n = min(in, out) / 2``, flat to
``0.85 f_n`` and at least ``stop_db`` down from ``1.15 f_n``: for 8 <-> 16 kHz and 24 -> 8 kHz that
is flat to 3.4 kHz (the telephone band) and rejecting from 4.6 kHz, i.e. nothing folds into or
images out of the band. 80 dB is well past mu-law's own ~38 dB signal-to-noise ratio. The
filter is linear-phase; output is time-aligned with input (the group delay is dropped at the
start and given back by :meth:`PolyphaseResampler.flush`), so the audio held back, about 2 ms
for these ratios, is the whole latency the resampler adds.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import as_strided
from pipecat.audio.resamplers.base_audio_resampler import BaseAudioResampler

_MAX_PLANS = 16
# Past this many phases (44.1 kHz -> 16 kHz has 160) one BLAS call per phase costs more than
# libsamplerate's interpolator: such ratios go to it instead.
MAX_UP = 8
PASS_FRACTION = 0.85
STOP_FRACTION = 1.15


def design_lowpass(up: int, down: int, *, stop_db: float = 80.0) -> np.ndarray:
    """The prototype low-pass FIR for resampling by ``up / down`` (a Kaiser-windowed sinc).

    Runs at the up-sampled rate (``up`` times the input rate); cut-off at the lower Nyquist
    frequency, transition from :data:`PASS_FRACTION` to :data:`STOP_FRACTION` of it; DC gain
    ``up`` (zero-stuffing divides it by ``up``). The length is odd, with a group delay that is a
    whole number of output samples.

    Args:
        up: Interpolation factor ``L`` (>= 1).
        down: Decimation factor ``M`` (>= 1).
        stop_db: Stop-band attenuation, dB.

    Returns:
        float64 taps, length ``N`` with ``(N - 1) / 2`` a multiple of ``down``.
    """
    if up < 1 or down < 1:
        raise ValueError(f"factors must be >= 1, got up={up}, down={down}")
    # Frequencies as fractions of the up-sampled rate's Nyquist.
    nyq = 1.0 / max(up, down)
    width = (STOP_FRACTION - PASS_FRACTION) * nyq  # transition width, fraction of Nyquist
    # Kaiser's estimate of the length for the attenuation and transition width.
    n = math.ceil((stop_db - 7.95) / (2.285 * math.pi * width)) + 1
    half = math.ceil((n - 1) / 2 / down) * down
    n = 2 * half + 1
    beta = 0.1102 * (stop_db - 8.7) if stop_db > 50 else 0.5842 * (stop_db - 21) ** 0.4 + 0.07886 * (stop_db - 21)
    t = np.arange(n) - half
    h = nyq * np.sinc(nyq * t) * np.kaiser(n, beta)
    return h * (up / h.sum())


class PolyphaseResampler(BaseAudioResampler):
    """A streaming polyphase FIR resampler for one stream at one pair of rates.

    PCM16 LE mono in and out. Filter state carries across calls, so chunk edges are seamless;
    any chunk size works (a 20 ms frame is typical). Output sample ``k`` is aligned with input
    time ``k / out_rate``: :attr:`held_samples` (about 2 ms for 8 <-> 16 kHz and 24 -> 8 kHz) is
    the latency added. Cost: ``ceil(N / L)`` multiply-adds per output sample (33 for 8 -> 16 kHz,
    101 for 24 -> 8 kHz at 80 dB) in ``L`` BLAS calls per chunk.

    Ratios whose reduced up-sampling factor exceeds :data:`MAX_UP` (44.1 -> 16 kHz) are handed
    to the resampler ``fallback`` makes (:func:`~.stream_resampler.create_resampler` passes
    libsamplerate's ``sinc_medium``).

    Args:
        stop_db: Stop-band attenuation, dB (see :func:`design_lowpass`).
        fallback: Makes the resampler for such ratios; None refuses them.

    Raises:
        ValueError: From :meth:`resample`, for odd byte counts, non-positive rates, rates
            other than the first call's (one resampler per stream), or a ratio with too many
            phases and no ``fallback``.
    """

    def __init__(self, *, stop_db: float = 80.0, fallback: Callable[[], BaseAudioResampler] | None = None):
        self.stop_db = stop_db
        self._make_fallback = fallback
        self._rates: tuple[int, int] | None = None
        self._up = self._down = 1
        self._taps = 0  # per phase (K)
        self._phases = np.zeros((1, 1), dtype=np.float32)  # reversed per-phase taps, (L, K)
        self._hist = np.zeros(0, dtype=np.float32)
        self._pos = 0
        self._delay_up = 0
        self._buffers: dict[int, np.ndarray] = {}
        self._plans: dict[tuple[int, int], tuple] = {}
        self._fallback: BaseAudioResampler | None = None
        self._in_total = 0
        self._out_total = 0

    @property
    def held_samples(self) -> int:
        """Output samples owed for input already taken (the filter's hold), at the output rate."""
        if self._rates is None:
            return 0
        if self._fallback is not None:
            return self._fallback.held_samples  # type: ignore[attr-defined]
        in_rate, out_rate = self._rates
        return max(0, self._in_total * out_rate // in_rate - self._out_total)

    def _setup(self, in_rate: int, out_rate: int) -> None:
        if self._rates is not None:
            if self._rates != (in_rate, out_rate):
                raise ValueError(
                    f"polyphase stream is for {self._rates[0]} -> {self._rates[1]} Hz, got "
                    f"{in_rate} -> {out_rate} Hz: use one resampler per stream"
                )
            return
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
        g = math.gcd(in_rate, out_rate)
        up, down = out_rate // g, in_rate // g
        if up > MAX_UP:
            if self._make_fallback is None:
                raise ValueError(f"{in_rate} -> {out_rate} Hz needs {up} filter phases (at most {MAX_UP})")
            self._fallback = self._make_fallback()
            self._rates = (in_rate, out_rate)
            return
        h = design_lowpass(up, down, stop_db=self.stop_db)
        k = math.ceil(h.size / up)
        padded = np.zeros(k * up)
        padded[: h.size] = h
        # phase p, tap j: h[p + j * up]; reversed so that a window x[i - k + 1 .. i] dots it.
        self._phases = np.ascontiguousarray(padded.reshape(k, up).T[:, ::-1], dtype=np.float32)
        self._rates = (in_rate, out_rate)
        self._up, self._down, self._taps = up, down, k
        self._delay_up = (h.size - 1) // 2
        self._start()

    def _start(self) -> None:
        self._hist = np.zeros(self._taps - 1, dtype=np.float32)
        self._pos = self._delay_up  # next output's position, up-sampled units from the chunk start
        self._in_total = 0
        self._out_total = 0

    def _plan(self, size: int, pos: int) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, slice]], int]:
        """Buffer and strided windows for a chunk of ``size`` samples starting at phase ``pos``.

        Telephone frames have one size, so the same few plans serve a whole call: building a
        strided view costs more than the filtering itself.
        """
        key = (size, pos)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _MAX_PLANS:  # chunk sizes that keep changing: do not hoard views
                self._plans.clear()
                self._buffers.clear()
            up, down, k = self._up, self._down, self._taps
            buf = self._buffers.get(size)
            if buf is None:
                buf = self._buffers[size] = np.zeros(k - 1 + size, dtype=np.float32)
            span = size * up
            count = (span - 1 - pos) // down + 1 if span > pos else 0
            item = buf.strides[0]
            parts = []
            for r0 in range(min(up, count)):
                j = pos + r0 * down
                n = (count - r0 + up - 1) // up
                # Rows r0, r0+up, ... share a phase; their windows start `down` inputs apart.
                view = as_strided(buf[j // up :], shape=(n, k), strides=(down * item, item), writeable=False)
                parts.append((view, self._phases[j % up], slice(r0, None, up)))
            plan = self._plans[key] = (buf, parts, count)
        return plan

    def _run(self, x: np.ndarray) -> np.ndarray:
        """Filter samples ``x`` (int16 or float32); returns every output sample they complete.

        Each numpy call costs ~10 us when a frame meets a cold cache (every frame of a live
        call does), more than the arithmetic: the steps here are as few as the filter allows.
        """
        k = self._taps
        buf, parts, count = self._plan(x.size, self._pos)
        buf[: k - 1] = self._hist
        buf[k - 1 :] = x  # int16 -> float32 in the copy
        if len(parts) == 1 and parts[0][2].step == 1:
            y = parts[0][0] @ parts[0][1]  # one phase (decimation): the product is the output
        else:
            y = np.empty(count, dtype=np.float32)
            for view, phase, where in parts:
                y[where] = view @ phase
        self._pos += count * self._down - x.size * self._up
        # A view when this buffer's tail cannot overlap its head on the next call, else a copy.
        tail = buf[buf.size - (k - 1) :]
        self._hist = tail if x.size >= k - 1 else tail.copy()
        self._in_total += x.size
        self._out_total += count
        return y

    async def resample(self, audio: bytes, in_rate: int, out_rate: int) -> bytes:
        """Resample the next piece of the stream.

        Args:
            audio: PCM16 LE mono, any whole number of samples.
            in_rate: Rate of ``audio``, Hz.
            out_rate: Wanted rate, Hz.

        Returns:
            PCM16 LE mono at ``out_rate``: every sample the filter can give now (the first call
            gives :attr:`held_samples` fewer than ``audio`` is worth).

        Raises:
            ValueError: Odd byte count, non-positive rates, or rates that differ from the first call's.
        """
        if in_rate == out_rate:
            return audio
        if len(audio) % 2:
            raise ValueError(f"PCM16 audio must be whole samples, got {len(audio)} bytes")
        self._setup(in_rate, out_rate)
        if self._fallback is not None:
            return await self._fallback.resample(audio, in_rate, out_rate)
        if not audio:
            return b""
        return _to_pcm16(self._run(np.frombuffer(audio, dtype=np.int16)))

    async def flush(self) -> bytes:
        """Emit the audio still inside the filter (its input followed by silence), then start over.

        Returns:
            PCM16 LE mono at the output rate (empty if nothing is held).
        """
        if self._fallback is not None:
            return await self._fallback.flush()
        owed = self.held_samples
        if self._rates is None or owed == 0:
            await self.reset()
            return b""
        feed = np.zeros(math.ceil((owed * self._down + self._pos) / self._up) + self._taps, dtype=np.float32)
        tail = self._run(feed)[:owed]
        await self.reset()
        return _to_pcm16(tail)

    async def reset(self):
        """Drop the audio inside the filter; the next call starts a new stream at the same rates."""
        if self._fallback is not None:
            await self._fallback.reset()
        elif self._rates is not None:
            self._start()


def _to_pcm16(y: np.ndarray) -> bytes:
    np.rint(y, out=y)
    np.clip(y, -32768, 32767, out=y)
    return y.astype(np.int16).tobytes()
