"""Stream resamplers by quality name: soxr presets, libsamplerate's sinc filters, or a polyphase FIR.

Why three engines. Pipecat's soxr stream resampler (``SOXRStreamAudioResampler``) is excellent
audio and cheap but works in blocks: fed 20 ms telephone frames it emits 8 -> 16 kHz audio in
~95 ms blocks (VHQ) and 24 -> 8 kHz audio in 137.5 ms blocks, so the Live server hears the end
of a caller's speech 60-80 ms late and the caller hears the first reply ~120 ms late. soxr's
lower presets hold less but still tens of ms, except ``QQ``, which has no anti-alias filter (a
5 kHz tone comes out of a 24 -> 8 kHz ``QQ`` stream at full level, folded to 3 kHz).

libsamplerate (through the ``samplerate`` package) runs a windowed-sinc interpolator sample by
sample: it holds back only the filter's half-length (a few ms) and returns the rest of each
frame at once, but its variable-ratio interpolation costs several times what a fixed ratio needs.

``polyphase`` (:mod:`.audio.polyphase`, the default of the resampling processors and the phone
path) is a fixed-ratio polyphase FIR: about 2 ms of hold for 8 <-> 16 kHz and 24 -> 8 kHz,
flat to 0.85 of the lower Nyquist frequency (3.4 kHz on the phone) and 80 dB down from 1.15 of
it, at a fraction of ``sinc_medium``'s CPU. Ratios with many phases (44.1 -> 16 kHz) go to
``sinc_medium``.

``bench/resamplers.py`` measures every quality here on 20 ms frames (8 -> 16 kHz) and 40 ms
frames (24 -> 8 kHz, as the Live API sends replies): hold, gain at the telephone band's edges,
worst image or alias, CPU per second of audio; its output is committed as
``bench/resamplers.json``.

Every resampler here is a Pipecat ``BaseAudioResampler``: ``await resample(pcm, in_hz, out_hz)``
on PCM16 LE mono bytes, ``await flush()`` for the audio still inside the filter, ``await
reset()`` to drop it.
"""

from __future__ import annotations

import math

import numpy as np
from pipecat.audio.resamplers.base_audio_resampler import BaseAudioResampler
from pipecat.audio.resamplers.soxr_stream_resampler import SOXRStreamAudioResampler

from .polyphase import PolyphaseResampler

SOXR_QUALITIES = ("VHQ", "HQ", "MQ", "LQ", "QQ")
SINC_QUALITIES = ("sinc_best", "sinc_medium", "sinc_fastest")
# Fixed-ratio polyphase FIR (:mod:`.audio.polyphase`): ~2 ms hold, flat to 0.85 of the lower
# Nyquist, -80 dB from 1.15 of it, about a third of sinc_medium's CPU.
POLYPHASE = "polyphase"
QUALITIES = SOXR_QUALITIES + SINC_QUALITIES + (POLYPHASE,)

_FLUSH_TRIES = 8


def check_quality(quality: str) -> str:
    """Return ``quality`` if it names a resampler here.

    Raises:
        ValueError: For an unknown name (the message lists the known ones).
    """
    if quality not in QUALITIES:
        raise ValueError(
            f"unknown resampler quality {quality!r}; use one of {', '.join(QUALITIES)}"
        )
    return quality


def create_resampler(quality: str) -> BaseAudioResampler:
    """A fresh stream resampler for one stream.

    Args:
        quality: A soxr preset (``VHQ``, ``HQ``, ``MQ``, ``LQ``, ``QQ``), through Pipecat's
            ``SOXRStreamAudioResampler`` with its state kept across gaps, or a libsamplerate
            converter (``sinc_best``, ``sinc_medium``, ``sinc_fastest``) through
            :class:`SincStreamResampler`, or ``polyphase``: a fixed-ratio polyphase FIR
            (:class:`~.audio.polyphase.PolyphaseResampler`).

    Raises:
        ValueError: For an unknown quality.
    """
    check_quality(quality)
    if quality == POLYPHASE:
        return PolyphaseResampler(fallback=lambda: SincStreamResampler("sinc_medium"))
    if quality in SINC_QUALITIES:
        return SincStreamResampler(quality)
    # Telephony and RTP audio arrive with irregular gaps; clearing the filter on a gap clicks.
    return SOXRStreamAudioResampler(quality=quality, clear_after_secs=None)


class SincStreamResampler(BaseAudioResampler):
    """A streaming windowed-sinc resampler (libsamplerate) that holds only its filter's half-length.

    One instance serves one stream at one pair of rates: the filter state carries across calls,
    so frame edges do not click. Output sample ``k`` is aligned with input time
    ``k / out_rate`` (libsamplerate compensates the filter delay), so the audio held back is the
    resampler's whole latency.

    Args:
        converter: ``sinc_best``, ``sinc_medium`` or ``sinc_fastest``.

    Raises:
        ValueError: For another converter name.
    """

    def __init__(self, converter: str = "sinc_medium"):
        if converter not in SINC_QUALITIES:
            raise ValueError(
                f"converter must be one of {', '.join(SINC_QUALITIES)}, got {converter!r}"
            )
        import samplerate  # a compiled extension: imported where it is used

        self.converter = converter
        self._module = samplerate
        self._stream = None
        self._rates: tuple[int, int] | None = None
        self._in_total = 0
        self._out_total = 0

    @property
    def held_samples(self) -> int:
        """Output samples owed for input already taken (the filter's hold), at the output rate."""
        if self._rates is None:
            return 0
        in_rate, out_rate = self._rates
        return max(0, round(self._in_total * out_rate / in_rate) - self._out_total)

    def _stream_for(self, in_rate: int, out_rate: int):
        if self._rates is None:
            if in_rate <= 0 or out_rate <= 0:
                raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
            self._rates = (in_rate, out_rate)
            self._stream = self._module.Resampler(self.converter, channels=1)
        elif self._rates != (in_rate, out_rate):
            raise ValueError(
                f"{self.converter} stream is for {self._rates[0]} -> {self._rates[1]} Hz, "
                f"got {in_rate} -> {out_rate} Hz: use one resampler per stream"
            )
        return self._stream

    async def resample(self, audio: bytes, in_rate: int, out_rate: int) -> bytes:
        """Resample the next piece of the stream.

        Args:
            audio: PCM16 LE mono, any whole number of samples.
            in_rate: Rate of ``audio``, Hz.
            out_rate: Wanted rate, Hz.

        Returns:
            PCM16 LE mono at ``out_rate``: everything the filter can give now (a few ms less
            than ``audio`` holds on the first call, then about as much as it holds).

        Raises:
            ValueError: Odd byte count, non-positive rates, or rates that differ from the first call's.
        """
        if in_rate == out_rate:
            return audio
        if len(audio) % 2:
            raise ValueError(f"PCM16 audio must be whole samples, got {len(audio)} bytes")
        stream = self._stream_for(in_rate, out_rate)
        if not audio:
            return b""
        x = np.frombuffer(audio, dtype=np.int16).astype(np.float32) * (1.0 / 32768.0)
        y = stream.process(x, out_rate / in_rate)
        self._in_total += x.size
        self._out_total += y.size
        return _to_pcm16(y)

    async def flush(self) -> bytes:
        """Emit the audio still inside the filter, then start a new stream.

        libsamplerate's ``end_of_input`` gives nothing back through the ``samplerate`` binding
        (its output buffer is sized for the new input only), so the filter is run on silence
        until it has returned every sample it owes for real input.

        Returns:
            PCM16 LE mono at the output rate (empty if nothing is held).
        """
        if self._stream is None or self._rates is None:
            return b""
        in_rate, out_rate = self._rates
        owed = self.held_samples
        pieces: list[np.ndarray] = []
        got = 0
        ratio = out_rate / in_rate
        feed = np.zeros(math.ceil(owed / ratio) + 64, dtype=np.float32)
        for _ in range(_FLUSH_TRIES):
            if got >= owed:
                break
            y = self._stream.process(feed, ratio)
            pieces.append(y)
            got += y.size
        tail = np.concatenate(pieces)[:owed] if pieces else np.zeros(0, dtype=np.float32)
        await self.reset()
        return _to_pcm16(tail)

    async def reset(self):
        """Drop the audio inside the filter; the next call starts a new stream at the same rates."""
        if self._stream is not None:
            self._stream.reset()
        self._in_total = 0
        self._out_total = 0


def _to_pcm16(y: np.ndarray) -> bytes:
    return np.clip(np.rint(y * 32768.0), -32768, 32767).astype(np.int16).tobytes()
