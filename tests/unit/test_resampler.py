import numpy as np
from pipecat.frames.frames import InputAudioRawFrame, TextFrame
from pipecat.tests.utils import run_test

from pipecat_gemini_live.audio.resampler import AudioResampler


def sine(rate: int, seconds: float, channels: int = 1) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    mono = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    if channels == 2:
        return np.stack([mono, mono], axis=1).tobytes()
    return mono.tobytes()


async def test_48k_stereo_becomes_16k_mono_and_other_frames_pass():
    audio = sine(48000, 0.02, channels=2)
    frames = [InputAudioRawFrame(audio=audio, sample_rate=48000, num_channels=2) for _ in range(30)]
    frames.insert(5, TextFrame("hello"))
    down, _ = await run_test(AudioResampler(), frames_to_send=frames)
    audio_out = [f for f in down if isinstance(f, InputAudioRawFrame)]
    assert any(isinstance(f, TextFrame) and f.text == "hello" for f in down)
    assert audio_out and all(f.sample_rate == 16000 and f.num_channels == 1 for f in audio_out)
    total = sum(len(f.audio) for f in audio_out) // 2
    assert 0.5 * 30 * 320 <= total <= 30 * 320  # the filter keeps a little back, nothing is invented
    out = np.frombuffer(b"".join(f.audio for f in audio_out), dtype=np.int16).astype(float)
    assert np.sqrt(np.mean(out[-3000:] ** 2)) > 4000  # level kept (sine RMS ~5657)


async def test_16k_mono_passes_unchanged():
    audio = sine(16000, 0.02)
    down, _ = await run_test(
        AudioResampler(), frames_to_send=[InputAudioRawFrame(audio=audio, sample_rate=16000, num_channels=1)]
    )
    (frame,) = [f for f in down if isinstance(f, InputAudioRawFrame)]
    assert frame.audio == audio


async def test_malformed_audio_is_reported_and_dropped():
    bad = InputAudioRawFrame(audio=b"\x00\x01\x02", sample_rate=8000, num_channels=1)
    down, up = await run_test(AudioResampler(), frames_to_send=[bad])
    assert not [f for f in down if isinstance(f, InputAudioRawFrame)]
    assert any("not whole PCM16 samples" in getattr(f, "error", "") for f in up)
