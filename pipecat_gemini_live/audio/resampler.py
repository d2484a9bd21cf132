"""Frame resamplers: caller audio to the Live API's 16 kHz, and bot audio to the transport's rate.

``AudioResampler`` converts ``InputAudioRawFrame`` audio of any rate and channel count to one
rate (16 kHz mono for the Live API). The Live API's native input rate is 16 kHz
(docs/live-api.md); transports deliver 8 kHz (Twilio), 48 kHz (Daily, WebRTC) or whatever a file holds.

``OutputResampler`` converts the bot's ``OutputAudioRawFrame`` audio (24 kHz from the Live API)
to the output transport's rate before the transport sees it, so the transport's own resampler
(Pipecat's soxr VHQ stream, which emits in 137.5 ms blocks going 24 -> 8 kHz) has nothing to do.

Both keep one stream resampler per input rate (filter state carries across frames, so frame
edges do not click) and take a quality name from :mod:`.stream_resampler`: a soxr preset or a
low-latency libsamplerate sinc filter. Every other frame passes through untouched.
"""

from __future__ import annotations

import numpy as np
from pipecat.audio.resamplers.base_audio_resampler import BaseAudioResampler
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from .stream_resampler import check_quality, create_resampler
from .rates import LIVE_INPUT_RATE, TWILIO_RATE


class _StreamResampling(FrameProcessor):
    """One stream resampler per input rate, to a fixed output rate (shared by both processors)."""

    def __init__(self, sample_rate: int, *, quality: str, **kwargs):
        super().__init__(**kwargs)
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        self.sample_rate = sample_rate
        self.quality = check_quality(quality)
        self._resamplers: dict[int, BaseAudioResampler] = {}

    def _resampler(self, rate: int) -> BaseAudioResampler:
        resampler = self._resamplers.get(rate)
        if resampler is None:
            resampler = create_resampler(self.quality)
            self._resamplers[rate] = resampler
        return resampler


class AudioResampler(_StreamResampling):
    """Resample caller audio to one rate, mixed down to mono.

    Args:
        sample_rate: Output rate in Hz (16000 for the Live API).
        quality: Resampler quality (:data:`.stream_resampler.QUALITIES`): a soxr preset
            (``"VHQ"``...``"QQ"``; higher presets hold more audio before emitting it), a
            libsamplerate sinc filter, or ``"polyphase"`` (the default): a fixed-ratio FIR that
            holds 1-2 ms (soxr VHQ holds 42 ms at 48 kHz and 64 ms at 8 kHz, which the server
            hears as a later end of speech), is flat to 0.85 of the lower Nyquist frequency and
            rejects images and aliases by 80 dB, at about a third of ``sinc_medium``'s CPU; see
            :mod:`.audio.polyphase` and ``bench/resamplers.py``.
        **kwargs: Passed to ``FrameProcessor``.

    Raises:
        ValueError: For a non-positive ``sample_rate`` or an unknown ``quality``.
    """

    def __init__(self, sample_rate: int = LIVE_INPUT_RATE, *, quality: str = "polyphase", **kwargs):
        super().__init__(sample_rate, quality=quality, **kwargs)

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Convert ``InputAudioRawFrame`` audio; pass everything else on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            if not await self._convert(frame):
                return
        await self.push_frame(frame, direction)

    async def _convert(self, frame: InputAudioRawFrame) -> bool:
        channels = max(1, int(frame.num_channels or 1))
        audio = frame.audio
        if len(audio) % (2 * channels):
            await self.push_error(
                f"{self}: InputAudioRawFrame of {len(audio)} bytes is not whole PCM16 samples "
                f"for {channels} channel(s); dropped"
            )
            return False
        if channels > 1:
            samples = np.frombuffer(audio, dtype=np.int16).reshape(-1, channels)
            audio = samples.mean(axis=1).astype(np.int16).tobytes()
        if frame.sample_rate != self.sample_rate:
            audio = await self._resampler(frame.sample_rate).resample(
                audio, frame.sample_rate, self.sample_rate
            )
        frame.audio = audio
        frame.sample_rate = self.sample_rate
        frame.num_channels = 1
        frame.num_frames = len(audio) // 2
        # A filter that is still filling emits nothing yet; an empty frame is not worth sending.
        return bool(audio)


class OutputResampler(_StreamResampling):
    """Resample the bot's audio to the output transport's rate, as soon as it arrives.

    Put it between the service and ``transport.output()``, with the transport's
    ``audio_out_sample_rate`` set to the same ``sample_rate``. Each ``OutputAudioRawFrame``
    (``TTSAudioRawFrame`` from the service, mono PCM16) is converted in place and pushed at once;
    the audio the filter still holds at the end of a reply is pushed before the
    ``TTSStoppedFrame`` that ends it, and dropped on an ``InterruptionFrame`` (the caller
    barged in: that audio must not be played, nor prefixed to the next reply).

    Args:
        sample_rate: The transport's output rate in Hz (8000 for Twilio).
        quality: Resampler quality (see :class:`AudioResampler`).
        lead_silence: Give a reply's first frame as much audio as it came with, the filter's
            hold (~2 ms for 24 -> 8 kHz polyphase) as silence at its start. Without it the first
            40 ms server chunk yields ~38 ms, and a transport writing 40 ms chunks would wait for
            the next server chunk before the caller hears anything; with it that chunk fills one
            at once. The delay is the same either way (the hold); only where it sits differs.
        **kwargs: Passed to ``FrameProcessor``.

    Raises:
        ValueError: For a non-positive ``sample_rate`` or an unknown ``quality``.
    """

    def __init__(
        self, sample_rate: int = TWILIO_RATE, *, quality: str = "polyphase", lead_silence: bool = False, **kwargs
    ):
        super().__init__(sample_rate, quality=quality, **kwargs)
        self.lead_silence = lead_silence
        self._last_rate: int | None = None
        self._context_id: str | None = None
        self._in_reply = False

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Convert bot audio; flush at the end of a reply; reset on an interruption."""
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            if isinstance(frame, OutputAudioRawFrame):
                if not await self._convert(frame):
                    return
            elif isinstance(frame, TTSStoppedFrame):
                await self._flush()
            elif isinstance(frame, InterruptionFrame):
                self._in_reply = False
                for resampler in self._resamplers.values():
                    await resampler.reset()
        await self.push_frame(frame, direction)

    async def _convert(self, frame: OutputAudioRawFrame) -> bool:
        if frame.sample_rate == self.sample_rate:
            return True
        channels = max(1, int(frame.num_channels or 1))
        if channels != 1 or len(frame.audio) % 2:
            await self.push_error(
                f"{self}: {type(frame).__name__} of {len(frame.audio)} bytes, {channels} channel(s) "
                "is not mono PCM16; dropped"
            )
            return False
        resampler = self._resampler(frame.sample_rate)
        self._last_rate = frame.sample_rate
        self._context_id = getattr(frame, "context_id", None)
        audio = await resampler.resample(frame.audio, frame.sample_rate, self.sample_rate)
        if self.lead_silence and not self._in_reply:
            worth = len(frame.audio) // 2 * self.sample_rate // frame.sample_rate
            audio = bytes(2 * max(0, worth - len(audio) // 2)) + audio
        self._in_reply = True
        frame.audio = audio
        frame.sample_rate = self.sample_rate
        frame.num_frames = len(audio) // 2
        return bool(audio)

    async def _flush(self) -> None:
        self._in_reply = False
        rate = self._last_rate
        if rate is None:
            return
        tail = await self._resamplers[rate].flush()
        if tail:
            frame = TTSAudioRawFrame(audio=tail, sample_rate=self.sample_rate, num_channels=1)
            frame.context_id = self._context_id
            await self.push_frame(frame)
