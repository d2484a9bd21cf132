"""The audio path trace: media clocks, hooks on real processors, the per-turn breakdown."""

import base64
import json
from types import SimpleNamespace

import numpy as np
import pytest
from pipecat.frames.frames import InputAudioRawFrame, TTSAudioRawFrame
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.tests.utils import run_test

from pipecat_gemini_live.apps.latency import (
    AudioPathTrace,
    MediaClock,
    TwilioWireTap,
    summarize,
    turn_latencies,
)
from pipecat_gemini_live.apps.latency.trace import twilio_media_seconds
from pipecat_gemini_live.audio.resampler import AudioResampler


def test_media_clock_finds_when_a_position_passed_and_splits_bursts():
    c = MediaClock()
    for k in range(5):
        c.add(0.02, at=10.0 + 0.02 * k)
    assert c.reached(0.0) == 10.0
    assert c.reached(0.02) == 10.0  # the first piece holds 0-20 ms
    assert c.reached(0.021) == 10.02
    assert c.reached(0.1) == 10.08
    assert c.reached(0.11) is None
    c.add(0.02, at=11.0)
    assert c.bursts(0.3) == [10.0, 11.0]


def paced(
    trace: AudioPathTrace,
    stage: str,
    start: float,
    seconds: float,
    frame_s: float,
    lag_s: float = 0.0,
    block_s: float | None = None,
):
    """Audio passing a stage in real time from ``start``; ``block_s``: emitted in blocks that long."""
    if block_s is None:
        for k in range(round(seconds / frame_s)):
            trace.mark(stage, frame_s, at=start + lag_s + k * frame_s)
    else:
        for k in range(round(seconds / block_s)):
            trace.mark(stage, block_s, at=start + lag_s + (k + 1) * block_s)


def test_breakdown_attributes_each_millisecond_to_its_stage():
    t = AudioPathTrace()
    paced(t, "wire_in", 100.0, 6.0, 0.02)
    paced(t, "input_transport", 100.0, 6.0, 0.02, lag_s=0.001)
    paced(t, "input_resampler", 100.0, 6.0, 0.02, block_s=0.1)  # a block resampler
    paced(t, "live_in", 100.0, 6.0, 0.02, block_s=0.1, lag_s=0.002)
    # Turns end at 1.0 s and 4.0 s; the server waits for 0.5 s of silence, thinks for 0.2 s.
    for heard in (t.clock("live_in").reached(1.5), t.clock("live_in").reached(4.5)):
        paced(t, "live_out", heard + 0.2, 1.0, 0.04)
        paced(t, "service_out", heard + 0.2, 1.0, 0.04, lag_s=0.001)
        paced(t, "wire_out", heard + 0.2, 1.0, 0.02, lag_s=0.121)
    turns = turn_latencies(t, [1.0, 4.0], silence_s=0.5)
    first = turns[0]
    assert first.stages_ms["silence"] == pytest.approx(500.0)
    assert first.stages_ms["wire_in->input_transport"] == pytest.approx(1.0)
    # The wire had 1.5 s in at 101.48; the block holding it left at 101.5: 19 ms later.
    assert first.stages_ms["input_transport->input_resampler"] == pytest.approx(19.0)
    assert first.stages_ms["input_resampler->live_in"] == pytest.approx(2.0)
    assert first.stages_ms["server"] == pytest.approx(200.0)
    assert first.stages_ms["service_out->wire_out"] == pytest.approx(120.0)
    assert first.total_ms == pytest.approx(sum(first.stages_ms.values()))
    assert first.total_ms == pytest.approx(500 + 1 + 19 + 2 + 200 + 1 + 120)
    assert (
        first.legs_ms["server"] == pytest.approx(200.0) and first.legs_ms["wire->service"] is None
    )
    assert turns[1].total_ms == pytest.approx(first.total_ms)
    s = summarize(turns)
    assert s["answered"] == 2 and s["total_ms"]["p50"] == pytest.approx(first.total_ms, abs=0.1)


def test_a_reply_is_not_credited_to_an_earlier_unanswered_turn():
    t = AudioPathTrace()
    paced(t, "wire_in", 0.0, 10.0, 0.02)
    paced(t, "wire_out", 5.7, 1.0, 0.02)  # answers the turn that ended at 5.0 s
    turns = turn_latencies(t, [2.0, 5.0])
    assert turns[0].total_ms is None
    assert turns[1].total_ms == pytest.approx(700.0, abs=20)
    with pytest.raises(ValueError, match="needs an inbound and an outbound stage"):
        turn_latencies(AudioPathTrace(), [1.0])


async def test_hooks_measure_frames_before_a_later_processor_changes_them():
    trace = AudioPathTrace()
    resampler = AudioResampler(16000, quality="sinc_medium")
    trace.tap_push(resampler, "input_resampler", InputAudioRawFrame)
    trace.tap_arrival(resampler, "input_transport", InputAudioRawFrame)
    frames = [InputAudioRawFrame(np.zeros(160, np.int16).tobytes(), 8000, 1) for _ in range(10)]
    await run_test(resampler, frames_to_send=frames)
    assert trace.clock("input_transport").total_s == pytest.approx(
        0.2
    )  # 8 kHz frames as they arrived
    assert 0.19 < trace.clock("input_resampler").total_s < 0.2  # 16 kHz, minus the filter's hold


async def test_wire_tap_marks_twilio_media_and_delegates():
    trace = AudioPathTrace()
    inner = TwilioFrameSerializer(
        "MZ1", params=TwilioFrameSerializer.InputParams(sample_rate=8000, auto_hang_up=False)
    )
    tap = TwilioWireTap(inner, trace)
    await tap.setup(SimpleNamespace(audio_in_sample_rate=16000))
    media = json.dumps(
        {"event": "media", "media": {"payload": base64.b64encode(b"\xff" * 160).decode()}}
    )
    frame = await tap.deserialize(media)
    assert isinstance(frame, InputAudioRawFrame) and frame.sample_rate == 8000
    assert trace.clock("wire_in").total_s == pytest.approx(0.02)
    out = json.loads(await tap.serialize(TTSAudioRawFrame(b"\x00\x00" * 160, 8000, 1)))
    assert out["event"] == "media" and out["streamSid"] == "MZ1"
    assert twilio_media_seconds('{"event": "stop"}') == 0.0
    assert twilio_media_seconds("not json") == 0.0
    assert twilio_media_seconds('{"event": "media", "media": {"payload": "%%%"}}') == 0.0
