"""Twilio caller audio at the Live API's rate, in grouped frames, straight out of the serializer.

Pipecat's ``TwilioFrameSerializer`` decodes mu-law and resamples to the pipeline's input rate
with its own stream resampler (soxr VHQ, which emits 8 -> 16 kHz audio in ~95 ms blocks: the
server hears the end of speech 60-80 ms late). :class:`EdgeTwilioSerializer` uses the
low-latency :class:`~.polyphase.PolyphaseResampler` instead (~2 ms hold) and groups the caller's
frames with :class:`~.frame_batcher.CallerFrameBatcher`, so the pipeline needs no resampling
stage of its own and carries two to five times fewer caller frames.

``media`` messages, 50 a second per call, are read once: parsed and checked against the same
model as :func:`~pipecat_gemini_live.twilio_messages.check_call_message` in one pass (pydantic's
``model_validate_json``, about half the CPU of ``json.loads`` then ``model_validate``;
``bench/micro.py``), decoded, grouped at 8 kHz and resampled per group. Every other message, and any ``media`` message that fails a check,
goes through :class:`~pipecat_gemini_live.twilio_serializer.CheckedTwilioSerializer` unchanged
(which drops a malformed one, saying why).
"""

from __future__ import annotations

import audioop
import base64
import binascii
import json

from pipecat.frames.frames import Frame, InputAudioRawFrame
from pydantic import ValidationError

from ..audio.stream_resampler import create_resampler
from ..call.frame_batcher import CallerFrameBatcher
from .twilio_messages import MediaMessage, _no_constants
from .twilio_serializer import CheckedTwilioSerializer


class EdgeTwilioSerializer(CheckedTwilioSerializer):
    """``CheckedTwilioSerializer`` with a low-latency input resampler and grouped caller frames.

    Same arguments as Pipecat's ``TwilioFrameSerializer`` (the pipeline rate is
    ``params.sample_rate``, 16000 for the Live API), plus:

    Args:
        quality: Input resampler (:data:`~pipecat_gemini_live.audio.stream_resampler.QUALITIES`).
        batcher: How caller frames are grouped (None: one frame per Twilio message).
    """

    def __init__(self, *args, quality: str = "polyphase", batcher: CallerFrameBatcher | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Pipecat's serializer resamples caller audio with this stream resampler (used below,
        # and by Pipecat's own path for anything that falls back to it).
        self._input_resampler = create_resampler(quality)
        self.batcher = batcher

    async def deserialize(self, data: str | bytes) -> Frame | None:
        """The frame for a Twilio message; caller audio may wait to join the next ones (None)."""
        ulaw = _media_payload(data)
        if ulaw is None:
            return await super().deserialize(data)
        pcm = audioop.ulaw2lin(ulaw, 2)
        if self.batcher is not None:
            pcm = self.batcher.add(pcm, self._twilio_sample_rate)
            if pcm is None:
                return None
        audio = await self._input_resampler.resample(pcm, self._twilio_sample_rate, self._sample_rate)
        if not audio:
            return None
        return InputAudioRawFrame(audio=audio, num_channels=1, sample_rate=self._sample_rate)


def _media_payload(data: str | bytes) -> bytes | None:
    """The mu-law bytes of a well-formed ``media`` message; None for anything else."""
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    if "NaN" in text or "Infinity" in text:
        # pydantic's JSON parser takes these constants, which are not JSON; the standard parser,
        # told to refuse them, decides (a base64 payload may hold "NaN" and still be fine).
        return _media_payload_checked(data)
    try:
        payload = MediaMessage.model_validate_json(data).media.payload
        ulaw = base64.b64decode(payload, validate=True)
    except (ValidationError, binascii.Error, ValueError):
        return None
    return ulaw or None


def _media_payload_checked(data: str | bytes) -> bytes | None:
    """:func:`_media_payload` through ``json.loads`` (refusing NaN and Infinity), then the model."""
    try:
        message = json.loads(data, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or message.get("event") != "media":
        return None
    try:
        payload = MediaMessage.model_validate(message).media.payload
        ulaw = base64.b64decode(payload, validate=True)
    except (ValidationError, binascii.Error, ValueError):
        return None
    return ulaw or None
