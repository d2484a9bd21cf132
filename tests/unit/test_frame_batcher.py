"""Caller frames grouped at the pipeline's edge: at once where the server decides, grouped elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
from pipecat.frames.frames import InputAudioRawFrame

from pipecat_gemini_live.call.frame_batcher import CallerFrameBatcher
from pipecat_gemini_live.telephony.audio import TelephonyAudio
from tests.audio_paths import media_messages, serializer

RATE = 16000
FRAME = RATE // 50  # 20 ms


def frame(voiced: bool, k: int = 0) -> bytes:
    if not voiced:
        return np.full(FRAME, k % 3, dtype=np.int16).tobytes()  # digital near-silence, distinct per frame
    t = np.arange(FRAME) / RATE
    return (8000 * np.sin(2 * np.pi * 440 * t) + k).astype(np.int16).tobytes()


def run(pattern: str) -> tuple[list[bytes], bytes, CallerFrameBatcher]:
    """Feed frames by pattern (``s`` speech, ``.`` silence); returns groups, all input, batcher."""
    b = CallerFrameBatcher()
    groups, fed = [], []
    for k, c in enumerate(pattern):
        pcm = frame(c == "s", k)
        fed.append(pcm)
        out = b.add(pcm, RATE)
        if out is not None:
            groups.append(out)
    return groups, b"".join(fed), b


def test_long_silence_goes_in_100_ms_frames_and_nothing_is_lost():
    groups, fed, b = run("." * 100)
    assert [len(g) // (2 * FRAME) for g in groups] == [5] * 20  # a call starts quiet
    assert b"".join(groups) + b.take() == fed
    assert (b.frames_in, b.frames_out) == (100, 20)


def test_speech_onset_and_offset_go_at_once_speech_in_60_ms_frames():
    groups, fed, b = run("." * 60 + "s" * 12 + "." * 10)
    sizes = [len(g) // (2 * FRAME) for g in groups]
    # 100 ms groups of silence; the onset at once; 60 ms groups of speech; the offset at once
    # (with the speech before it); then every frame of the end-of-speech window at once.
    assert sizes == [5] * 12 + [1, 3, 3, 3, 3] + [1] * 9
    assert b"".join(groups) + b.take() == fed


def test_bad_frames_are_refused():
    b = CallerFrameBatcher()
    with pytest.raises(ValueError, match="whole samples"):
        b.add(b"\0", RATE)
    for _ in range(62):  # two silent frames wait to be grouped
        b.add(frame(False), RATE)
    assert b.policy.pending
    with pytest.raises(ValueError, match="cannot join"):
        b.add(frame(False), 8000)


async def test_the_twilio_serializer_hands_out_fewer_16k_frames_carrying_every_sample():
    audio = TelephonyAudio()
    s = await serializer(audio)
    ulaw = bytes([0xFF]) * 8000 * 3  # 3 s of mu-law silence
    frames = [f for m in media_messages(ulaw) if (f := await s.deserialize(m)) is not None]
    assert all(isinstance(f, InputAudioRawFrame) and f.sample_rate == 16000 for f in frames)
    assert len(frames) < 150 / 2
    waiting_8k = len(s.batcher.take()) // 2  # grouped at the wire rate, resampled per group
    given = sum(len(f.audio) for f in frames) // 2
    assert given + s._input_resampler.held_samples + 2 * waiting_8k == 3 * 16000


async def test_malformed_media_is_dropped_by_the_checked_path_and_dtmf_passes():
    audio = TelephonyAudio()
    s = await serializer(audio)
    assert await s.deserialize('{"event": "media", "media": {"payload": "not base64!"}}') is None
    assert await s.deserialize('{"event": "media", "media": {"payload": 5}}') is None
    assert s.dropped == 2
    frame = await s.deserialize('{"event": "dtmf", "streamSid": "MZ1", "dtmf": {"digit": "5"}}')
    assert frame is not None and type(frame).__name__ == "InputDTMFFrame"
