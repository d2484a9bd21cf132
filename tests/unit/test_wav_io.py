import numpy as np
import pytest
import soundfile as sf

from pipecat_gemini_live.apps.transports.wav import WavInputError, load_wav

from ..conftest import build_call


def test_mu_law_and_pcm_decode_alike(tmp_path):
    pcm = load_wav(build_call(tmp_path / "a.wav", ["cards_001.wav"], rate=8000))
    ulaw = load_wav(build_call(tmp_path / "b.wav", ["cards_001.wav"], rate=8000, subtype="ULAW"))
    assert ulaw.subtype == "ULAW" and ulaw.sample_rate == 8000
    a, b = pcm.mono().astype(float), ulaw.mono().astype(float)
    assert np.corrcoef(a, b)[0, 1] > 0.99


def test_stereo_48k(tmp_path):
    audio = load_wav(build_call(tmp_path / "s.wav", ["cards_001.wav"], rate=48000, channels=2))
    assert audio.channels == 2 and audio.sample_rate == 48000 and abs(audio.duration_s - 1.1) < 0.1


def test_empty_wav_is_refused(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(str(path), np.zeros(0, dtype=np.int16), 16000, subtype="PCM_16")
    with pytest.raises(WavInputError, match="no audio frames"):
        load_wav(path)


def test_non_wav_is_refused(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 20)
    with pytest.raises(WavInputError, match="not a readable WAV"):
        load_wav(path)
    with pytest.raises(WavInputError, match="no such file"):
        load_wav(tmp_path / "missing.wav")


def test_flac_is_not_wav(tmp_path):
    path = tmp_path / "x.flac"
    sf.write(str(path), np.zeros(1600, dtype=np.int16), 16000, format="FLAC")
    with pytest.raises(WavInputError, match="not a WAV"):
        load_wav(path)


def test_truncated_wav_plays_what_is_there(tmp_path):
    path = build_call(tmp_path / "t.wav", ["cards_005.wav"])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # header still claims the full length
    audio = load_wav(path)
    assert 1.0 < audio.duration_s < 2.0
