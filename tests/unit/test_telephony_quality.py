"""No audible degradation on the telephony path: words kept on the way in, level kept on the way out.

Both directions run through the real pieces a Twilio call uses (Pipecat's
``TwilioFrameSerializer`` under the serializer ``TelephonyAudio`` picks, our resamplers) on real
audio: recorded speech in, the emulator's synthesized reply out.
"""

import audioop
import base64
import json

import numpy as np
import pytest
import soxr
from pipecat.frames.frames import (
    InterruptionFrame,
    OutputAudioRawFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.tests.utils import SleepFrame, run_test

from gemini_live_emulator.model.voice import synthesize_sync
from pipecat_gemini_live.audio.resampler import OutputResampler
from pipecat_gemini_live.telephony.audio import TelephonyAudio
from tests.audio_paths import caller_through_input_path, serializer
from tests.conftest import speech

RECORDINGS = ["librivox_0880.wav", "librivox_0930.wav", "cards_005.wav", "linphone_hello_16k.wav"]


def telephone_band(x: np.ndarray, rate: int) -> np.ndarray:
    """300-3400 Hz: what a phone line carries."""
    spectrum = np.fft.rfft(x.astype(float))
    f = np.fft.rfftfreq(x.size, 1 / rate)
    spectrum[(f < 300) | (f > 3400)] = 0
    return np.fft.irfft(spectrum, x.size)


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x.astype(float)))) + 1e-9)


def band_match(received: np.ndarray, source: np.ndarray) -> tuple[float, float]:
    """(correlation, level difference dB) of two 16 kHz signals in the telephone band."""
    n = min(received.size, source.size)
    a, b = telephone_band(received[:n], 16000), telephone_band(source[:n], 16000)
    return float(np.corrcoef(a, b)[0, 1]), rms_db(a) - rms_db(b)


@pytest.mark.parametrize("quality", ["polyphase", "sinc_medium"])
@pytest.mark.parametrize("name", RECORDINGS)
async def test_caller_speech_keeps_its_words_through_the_input_path(name, quality):
    source = speech(name)
    received = await caller_through_input_path(source, quality)
    assert received.size >= source.size - 16000 * 0.03  # only the filter's few ms are still held
    r, level = band_match(received, source)
    # Measured: r = 0.9998-0.9999, level within 0.01 dB (the same as soxr VHQ; mu-law noise is
    # the main difference from the source). A resampler without a proper filter (QQ) or with
    # a rolled-off band edge (sinc_fastest) falls below 0.999 on some of these recordings.
    assert r >= 0.999, f"correlation {r:.5f} with the source in the telephone band"
    assert abs(level) < 0.1, f"level changed by {level:+.2f} dB"


async def test_the_correlation_check_catches_a_filterless_resampler():
    worst = 1.0
    for name in RECORDINGS:
        r, _ = band_match(await caller_through_input_path(speech(name), "QQ"), speech(name))
        worst = min(worst, r)
    assert worst < 0.999


def reply_audio() -> np.ndarray:
    """A reply as the emulator speaks one: 24 kHz PCM16."""
    pcm = synthesize_sync(
        "You are a helpful assistant. I heard you for 2.7 seconds. I remember no earlier turns."
    )
    return np.frombuffer(pcm, dtype=np.int16)


async def reply_through_output_path(
    reply: np.ndarray, frames_between=None, audio: TelephonyAudio | None = None
) -> tuple[list, np.ndarray]:
    """TTSAudioRawFrame (24 kHz, 40 ms) -> OutputResampler -> serializer -> mu-law -> PCM16 at 8 kHz."""
    audio = audio or TelephonyAudio(lead_silence=False)
    (resampler,) = audio.output_processors()
    chunks = [
        TTSAudioRawFrame(reply[i : i + 960].tobytes(), 24000, 1) for i in range(0, reply.size, 960)
    ]
    down, _ = await run_test(
        resampler, frames_to_send=[TTSStartedFrame(), *chunks, TTSStoppedFrame()]
    )
    s = await serializer(audio)
    pcm = b""
    for f in down:
        if isinstance(f, OutputAudioRawFrame):
            payload = json.loads(await s.serialize(f))["media"]["payload"]
            pcm += audioop.ulaw2lin(base64.b64decode(payload), 2)
    return list(down), np.frombuffer(pcm, dtype=np.int16)


async def test_reply_audio_keeps_its_level_at_8khz():
    reply = reply_audio()
    down, heard = await reply_through_output_path(reply)
    audio_frames = [f for f in down if isinstance(f, OutputAudioRawFrame)]
    assert all(isinstance(f, TTSAudioRawFrame) and f.sample_rate == 8000 for f in audio_frames)
    # The held tail comes out before the reply ends: every sample of the reply is played.
    stop_at = next(i for i, f in enumerate(down) if isinstance(f, TTSStoppedFrame))
    assert all(i < stop_at for i, f in enumerate(down) if isinstance(f, OutputAudioRawFrame))
    # A length that is not a multiple of 3 rounds either way at the flush: one sample at most.
    assert abs(heard.size - reply.size / 3) <= 1
    ref = soxr.resample(reply.astype(np.float32), 24000, 8000, quality="VHQ")
    assert abs(rms_db(heard) - rms_db(ref)) < 0.2  # measured: ~0.01 dB (mu-law adds ~-38 dB noise)
    assert abs(rms_db(heard) - rms_db(telephone_band(reply, 24000))) < 1.0
    assert np.corrcoef(heard, ref[: heard.size])[0, 1] > 0.999


async def test_lead_silence_gives_the_first_frame_its_whole_length_and_shifts_nothing_else():
    reply = reply_audio()
    _, plain = await reply_through_output_path(reply)
    down, led = await reply_through_output_path(reply, audio=TelephonyAudio())
    first = next(f for f in down if isinstance(f, OutputAudioRawFrame))
    assert len(first.audio) == 2 * 320  # 40 ms at 24 kHz in, 40 ms at 8 kHz out: a whole chunk
    lead = led.size - plain.size
    assert 0 < lead <= 24  # the filter's hold (~2 ms), now silence at the start
    assert not led[:lead].any()
    assert np.array_equal(led[lead:], plain)  # the same reply after it, sample for sample


async def test_an_interruption_drops_the_held_audio_of_the_cut_reply():
    resampler = OutputResampler(8000)
    first = [TTSAudioRawFrame(np.full(960, 3000, np.int16).tobytes(), 24000, 1) for _ in range(5)]
    second = [TTSAudioRawFrame(np.full(960, -3000, np.int16).tobytes(), 24000, 1) for _ in range(5)]
    frames = [
        TTSStartedFrame(),
        *first,
        SleepFrame(0.2),
        InterruptionFrame(),
        SleepFrame(0.2),
        TTSStartedFrame(),
        *second,
        TTSStoppedFrame(),
    ]
    down, _ = await run_test(resampler, frames_to_send=frames)
    cut = next(i for i, f in enumerate(down) if isinstance(f, InterruptionFrame))
    before = np.frombuffer(
        b"".join(f.audio for f in down[:cut] if isinstance(f, OutputAudioRawFrame)), np.int16
    )
    after = np.frombuffer(
        b"".join(f.audio for f in down[cut:] if isinstance(f, OutputAudioRawFrame)), np.int16
    )
    assert 0 < before.size < 5 * 320  # the cut reply's last few ms stayed in the filter...
    assert after.size == 5 * 320  # ...and were dropped, not prefixed to the next reply
    assert np.all(after[len(after) // 4 : -len(after) // 4] < 0)


async def test_malformed_bot_audio_is_reported_and_dropped():
    bad = TTSAudioRawFrame(b"\x00\x01\x02", 24000, 1)
    down, up = await run_test(OutputResampler(8000), frames_to_send=[bad])
    assert not [f for f in down if isinstance(f, OutputAudioRawFrame)]
    assert any("not mono PCM16" in getattr(f, "error", "") for f in up)
