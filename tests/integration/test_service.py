"""GeminiLiveLLMService in a real pipeline against the emulator, through the real SDK."""

from __future__ import annotations

import asyncio
import re

import pytest
from pipecat.frames.frames import (
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.metrics.metrics import LLMUsageMetricsData, TTFBMetricsData
from pipecat.processors.frame_processor import FrameDirection

from gemini_live_emulator.model.asr import word_error_rate

from .call_helpers import run_call


async def test_a_call_is_answered_turn_by_turn(emulator, short_call, tmp_path):
    result = await run_call(emulator, short_call, tmp_path / "out.wav", system_instruction="You are the test persona.")
    svc, after, before = result.service, result.after, result.before
    assert result.errors == []
    replies = [r for r in svc.replies if not r.interrupted]
    assert len(replies) == 2
    assert all("You are the test persona" in r.text for r in replies)
    assert "no earlier turns" in replies[0].text and "two earlier turns" in replies[1].text

    audio = after.of(TTSAudioRawFrame)
    assert audio and {f.sample_rate for f in audio} == {24000} and {f.num_channels for f in audio} == {1}
    assert len(after.of(TTSStartedFrame)) == 2 and len(after.of(TTSStoppedFrame)) == 2
    assert len(after.of(LLMFullResponseStartFrame)) == 2 and len(after.of(LLMFullResponseEndFrame)) == 2
    spoken = "".join(f.text for f in after.of(TTSTextFrame))
    assert "test persona" in spoken
    transcripts = before.of(TranscriptionFrame, FrameDirection.UPSTREAM)
    assert len(transcripts) == 2
    # Recognition off (the suite's default): speech described by its length.
    assert all(re.fullmatch(r"\(caller speech, \d\.\d seconds\)", t.text) for t in transcripts)

    metrics = [d for f in after.of(MetricsFrame) for d in f.data]
    ttfb = [d.value for d in metrics if isinstance(d, TTFBMetricsData) and d.value > 0]
    usage = [d.value for d in metrics if isinstance(d, LLMUsageMetricsData)]
    assert len(ttfb) == 2 and all(0.2 < v < 2.0 for v in ttfb)  # 500 ms VAD silence + 100 ms think
    assert len(usage) == 2 and all(u.total_tokens > 0 for u in usage)

    counters = svc.audio_counters
    assert counters.dropped == 0 and counters.sent > 0
    (record,) = emulator.records
    for _ in range(50):
        if record.closed:
            break
        await asyncio.sleep(0.02)
    assert record.client_close_code == 1000  # a hang-up is a normal closure, not 1011


@pytest.mark.asr
async def test_the_callers_words_reach_the_pipeline_as_transcriptions(emulator, short_call, tmp_path):
    # No timing here: the emulator's replies wait for its recogniser, however loaded the machine.
    result = await run_call(emulator, short_call, tmp_path / "out.wav", timeout_tail=4.0)
    assert result.errors == []
    transcripts = result.before.of(TranscriptionFrame, FrameDirection.UPSTREAM)
    assert len(transcripts) == 2, [t.text for t in transcripts]
    # cards_001.wav and cards_003.wav say "ten of clubs" and "seven of clubs".
    for t, said in zip(transcripts, ["ten of clubs", "seven of clubs"]):
        assert word_error_rate(said, t.text) <= 0.5, (said, t.text)
    replies = [r.text for r in result.service.replies if not r.interrupted]
    assert any(f'You said: "{transcripts[0].text.strip().split()[0]}' in r for r in replies), replies


async def test_a_refused_connect_is_reported_not_silent(emulator, short_call, tmp_path):
    result = await asyncio.wait_for(
        run_call(emulator, short_call, tmp_path / "out.wav", api_key="wrong-key"), 60
    )
    assert any("1008" in e and "API key" in e for e in result.errors), result.errors
    assert result.service.replies == []


async def test_an_unknown_model_says_so(emulator, short_call, tmp_path):
    result = await asyncio.wait_for(
        run_call(emulator, short_call, tmp_path / "out.wav", model="text-bison-001"), 60
    )
    assert any("1008" in e and "model" in e for e in result.errors), result.errors


async def test_caller_audio_is_held_until_the_session_is_ready(emulator, short_call, tmp_path):
    result = await run_call(emulator, short_call, tmp_path / "out.wav")
    switch = result.service.handover.records[0]
    assert switch.reason == "start" and switch.ok
    c = result.service.audio_counters
    # Whatever arrived before setupComplete was held and replayed, not lost: every frame the
    # input pushed reached the session (the resampler passes 16 kHz frames one for one).
    assert c.held >= 1 and c.dropped == 0
    assert c.sent == result.transport.input().frames_pushed


async def test_caller_audio_goes_on_past_the_service_unless_told_to_end_there(emulator, short_call, tmp_path):
    from pipecat.frames.frames import InputAudioRawFrame

    from pipecat_gemini_live import LiveOptions

    passed, ended = await asyncio.gather(
        run_call(emulator, short_call, tmp_path / "a.wav"),
        run_call(emulator, short_call, tmp_path / "b.wav", options=LiveOptions(forward_caller_audio=False)),
    )
    for result in (passed, ended):
        assert result.errors == [] and result.after.of(TTSAudioRawFrame)  # answered either way
        assert result.service.audio_counters.sent == result.transport.input().frames_pushed
    assert len(passed.after.of(InputAudioRawFrame)) == passed.transport.input().frames_pushed
    assert ended.after.of(InputAudioRawFrame) == []
