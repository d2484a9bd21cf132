import numpy as np

from gemini_live_emulator.model.vad import EnergyVAD, VadParams


def tone(seconds: float, rate: int, amp: int = 8000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * 220 * t)).astype(np.int16).tobytes()


def silence(seconds: float, rate: int) -> bytes:
    return bytes(2 * int(seconds * rate))


def feed_in_frames(vad: EnergyVAD, pcm: bytes, frame_bytes: int = 640):
    events = []
    for i in range(0, len(pcm), frame_bytes):
        events += vad.feed(pcm[i : i + frame_bytes])
    return events


def test_start_and_end_in_audio_time():
    rate = 16000
    vad = EnergyVAD(VadParams(silence_ms=500), rate)
    events = feed_in_frames(vad, silence(1.0, rate) + tone(1.5, rate) + silence(1.0, rate))
    kinds = [(e.kind, round(e.at_s, 2)) for e in events]
    assert kinds == [("start", 1.0), ("end", 2.5)]


def test_silence_duration_is_honoured():
    rate = 8000
    pcm = tone(0.5, rate) + silence(0.3, rate) + tone(0.5, rate) + silence(0.6, rate)
    short = EnergyVAD(VadParams(silence_ms=200), rate)
    long = EnergyVAD(VadParams(silence_ms=400), rate)
    assert [e.kind for e in feed_in_frames(short, pcm, 320)] == ["start", "end", "start", "end"]
    assert [e.kind for e in feed_in_frames(long, pcm, 320)] == ["start", "end"]


def test_no_end_without_silence_then_flush():
    rate = 16000
    vad = EnergyVAD(VadParams(silence_ms=500), rate)
    assert [e.kind for e in vad.feed(tone(1.0, rate))] == ["start"]
    assert vad.speaking
    (end,) = vad.flush()
    assert end.kind == "end" and round(end.at_s, 2) == 1.0


def test_sensitivity_maps_to_hang_times():
    high = VadParams.from_setup(default_silence_ms=500, silence_duration_ms=None, start_sensitivity="START_SENSITIVITY_HIGH", end_sensitivity="END_SENSITIVITY_HIGH")
    low = VadParams.from_setup(default_silence_ms=500, silence_duration_ms=None, start_sensitivity="START_SENSITIVITY_LOW", end_sensitivity="END_SENSITIVITY_LOW")
    assert high.start_ms < low.start_ms and high.silence_ms < 500 < low.silence_ms
    explicit = VadParams.from_setup(default_silence_ms=500, silence_duration_ms=250, start_sensitivity=None, end_sensitivity="END_SENSITIVITY_LOW")
    assert explicit.silence_ms == 250


def test_quiet_noise_is_not_speech():
    rate = 16000
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(rate * 2) * 30).astype(np.int16).tobytes()  # about -60 dBFS
    assert EnergyVAD(VadParams(), rate).feed(noise) == []
