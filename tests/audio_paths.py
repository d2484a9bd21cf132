"""Audio through the telephony input path as a Twilio call carries it (shared by quality tests)."""

from __future__ import annotations

import audioop
import base64
import json
from types import SimpleNamespace

import numpy as np
import soxr
from pipecat.frames.frames import InputAudioRawFrame
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.tests.utils import run_test

from pipecat_gemini_live.telephony.audio import TelephonyAudio


def phone_ulaw(pcm16k: np.ndarray) -> bytes:
    """A 16 kHz recording at 8 kHz mu-law, as a Twilio media stream carries it."""
    pcm8 = soxr.resample(pcm16k.astype(np.float32), 16000, 8000, quality="VHQ")
    return audioop.lin2ulaw(np.clip(pcm8, -32768, 32767).astype(np.int16).tobytes(), 2)


def media_messages(ulaw: bytes) -> list[str]:
    """Twilio ``media`` messages of 20 ms each."""
    return [
        json.dumps(
            {
                "event": "media",
                "streamSid": "MZ1",
                "media": {"payload": base64.b64encode(ulaw[i : i + 160]).decode()},
            }
        )
        for i in range(0, len(ulaw), 160)
    ]


async def serializer(audio: TelephonyAudio) -> TwilioFrameSerializer:
    """Pipecat's Twilio serializer configured by ``audio``, set up as a transport would."""
    s = audio.serializer("MZ1", params=audio.serializer_params(auto_hang_up=False))
    # The serializer reads only the pipeline's input rate from its setup (ours overrides it).
    await s.setup(SimpleNamespace(audio_in_sample_rate=16000))
    return s


async def input_path(messages: list[str], audio: TelephonyAudio) -> np.ndarray:
    """Twilio media messages -> serializer -> input processors: the 16 kHz PCM the Live API is sent.

    Both paths resample in the serializer (ours with the polyphase FIR, grouping frames).
    """
    s = await serializer(audio)
    frames = [f for m in messages if (f := await s.deserialize(m)) is not None]
    rest = s.batcher.take() if getattr(s, "batcher", None) is not None else b""
    if rest:  # the end of the stream: what was still waiting to join a group
        frames.append(InputAudioRawFrame(audio=rest, sample_rate=audio.pipeline_in_rate, num_channels=1))
    assert all(
        isinstance(f, InputAudioRawFrame) and f.sample_rate == audio.pipeline_in_rate
        for f in frames
    )
    for processor in audio.input_processors():
        down, _ = await run_test(processor, frames_to_send=frames)
        frames = [f for f in down if isinstance(f, InputAudioRawFrame)]
    assert frames and all(f.sample_rate == 16000 and f.num_channels == 1 for f in frames)
    return np.frombuffer(b"".join(f.audio for f in frames), dtype=np.int16)


async def caller_through_input_path(pcm16k: np.ndarray, quality: str) -> np.ndarray:
    """A 16 kHz recording over a Twilio call, as the Live API receives it on our path."""
    return await input_path(media_messages(phone_ulaw(pcm16k)), TelephonyAudio(quality=quality))
