"""Twilio caller audio at the Live API's rate, in grouped frames, straight out of the serializer.

Pipecat's ``TwilioFrameSerializer`` decodes mu-law and resamples to the pipeline's input rate
with its own stream resampler (soxr VHQ, which emits 8 -> 16 kHz audio in ~95 ms blocks: the
server hears the end of speech 60-80 ms late). :class:`EdgeTwilioSerializer` gives it the
low-latency :class:`~.polyphase.PolyphaseResampler` instead (~2 ms hold) and groups the frames
it produces with :class:`~.frame_batcher.CallerFrameBatcher`, so the pipeline needs no
resampling stage of its own and carries two to five times fewer caller frames.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame, InputAudioRawFrame

from ..stream_resampler import create_resampler
from ..twilio_serializer import CheckedTwilioSerializer
from .frame_batcher import CallerFrameBatcher


class EdgeTwilioSerializer(CheckedTwilioSerializer):
    """``CheckedTwilioSerializer`` with a low-latency input resampler and grouped caller frames.

    Same arguments as Pipecat's ``TwilioFrameSerializer``, plus:

    Args:
        quality: Input resampler (:data:`~pipecat_gemini_live.stream_resampler.QUALITIES`);
            the pipeline rate is ``params.sample_rate`` (16000 for the Live API).
        batcher: How caller frames are grouped (None: one frame per Twilio message).
    """

    def __init__(self, *args, quality: str = "polyphase", batcher: CallerFrameBatcher | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Pipecat's serializer resamples caller audio with this stream resampler.
        self._input_resampler = create_resampler(quality)
        self.batcher = batcher

    async def deserialize(self, data: str | bytes) -> Frame | None:
        """The frame for a Twilio message; caller audio may wait to join the next frames (None)."""
        frame = await super().deserialize(data)
        if self.batcher is None or not isinstance(frame, InputAudioRawFrame):
            return frame
        audio = self.batcher.add(frame.audio, frame.sample_rate)
        if audio is None:
            return None
        frame.audio = audio
        frame.num_frames = len(audio) // 2
        return frame
