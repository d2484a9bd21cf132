"""``AudioResampler``: caller audio of any rate and channel count -> 16 kHz mono PCM16.

The Live API's native input rate is 16 kHz (DESIGN.md section 4). Transports deliver 8 kHz
(Twilio), 48 kHz (Daily, WebRTC) or whatever a file holds; this processor converts
``InputAudioRawFrame`` audio in place through Pipecat's soxr stream resampler (one stream per
input rate, so filter state carries across frames and there are no clicks at frame edges) and
passes every other frame through untouched.
"""

from __future__ import annotations

import numpy as np
from pipecat.audio.resamplers.base_audio_resampler import BaseAudioResampler
from pipecat.audio.utils import create_stream_resampler
from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor


class AudioResampler(FrameProcessor):
    """Resample caller audio to one rate, mixed down to mono.

    Args:
        sample_rate: Output rate in Hz (16000 for the Live API).
        quality: soxr quality preset (``"VHQ"``, ``"HQ"``, ``"MQ"``, ``"LQ"``, ``"QQ"``):
            higher quality filters hold more audio before emitting it (latency).
        **kwargs: Passed to ``FrameProcessor``.

    Raises:
        ValueError: For a non-positive ``sample_rate``.
    """

    def __init__(self, sample_rate: int = 16000, *, quality: str = "VHQ", **kwargs):
        super().__init__(**kwargs)
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        self.sample_rate = sample_rate
        self.quality = quality
        self._resamplers: dict[int, BaseAudioResampler] = {}

    def _resampler(self, rate: int) -> BaseAudioResampler:
        resampler = self._resamplers.get(rate)
        if resampler is None:
            # Telephony audio arrives with irregular gaps; clearing the filter on a gap would
            # click, so state is kept for the whole call.
            resampler = create_stream_resampler(quality=self.quality, clear_after_secs=None)
            self._resamplers[rate] = resampler
        return resampler

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
