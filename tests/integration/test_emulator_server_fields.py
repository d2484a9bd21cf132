"""Server fields the SDK types document beyond replies: ``voiceActivity``, ``waitingForInput`` with
``turnCompleteReason``, and where manual activity marks are accepted (docs/model-rules.md), seen
through the unmodified google-genai SDK."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from google.genai import types
from google.genai.errors import APIError

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live.protocol.inbound import parse_duration

from .sdk_helpers import client_for, collect_turn, live_config, speak, transcript

MODEL_31 = "gemini-3.1-flash-live-preview"
MODEL_38 = "gemini-3.8-live"


def activity(messages) -> list[tuple[str, float]]:
    return [(m.voice_activity.voice_activity_type.value, parse_duration(m.voice_activity.audio_offset))
            for m in messages if m.voice_activity is not None]


async def _one_turn(model: str, variant: str | None) -> list[types.LiveServerMessage]:
    behaviours = {"gemini-3.1-*": variant} if variant else {}
    async with LiveEmulator(EmulatorConfig(think_ms=20, pace=4.0, model_behaviours=behaviours)) as emu:
        async with client_for(emu).aio.live.connect(model=model, config=live_config()) as session:
            await speak(session, "cards_001.wav")  # 0.9 s of speech, 0.7 s of silence
            return await collect_turn(session)


async def test_voice_activity_brackets_the_caller_speech_where_the_model_sends_it():
    sent, silent_31, silent_38 = await asyncio.gather(
        _one_turn(MODEL_31, "3.1@2026-09"), _one_turn(MODEL_31, "3.1@2026-08"), _one_turn(MODEL_38, None)
    )
    (start, start_s), (end, end_s) = activity(sent)
    assert (start, end) == ("ACTIVITY_START", "ACTIVITY_END")
    assert 0.0 <= start_s < end_s <= 1.6 and end_s - start_s > 0.5, activity(sent)
    # The end of speech comes before the reply it ends the turn for.
    first_audio = next(i for i, m in enumerate(sent) if m.server_content and m.server_content.model_turn)
    assert max(i for i, m in enumerate(sent) if m.voice_activity) < first_audio
    assert activity(silent_31) == [] and activity(silent_38) == []
    for turn in (sent, silent_31, silent_38):
        assert "I heard you for 0.9 seconds" in transcript(turn)


def _tone(seconds: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.concatenate([0.3 * 32767 * np.sin(2 * np.pi * 440 * t), np.zeros(rate)]).astype(np.int16)


@pytest.mark.asr
async def test_a_turn_with_no_words_waits_for_more_input_when_told_to():
    config = EmulatorConfig(think_ms=20, pace=4.0, unheard_turns="wait", listen_timeout_s=20.0)
    async with LiveEmulator(config) as emu:
        async with client_for(emu).aio.live.connect(model=MODEL_38, config=live_config()) as session:
            tone = _tone(0.9)
            for i in range(0, tone.size, 320):
                await session.send_realtime_input(audio=types.Blob(data=tone[i : i + 320].tobytes(), mime_type="audio/pcm;rate=16000"))
            waited = await collect_turn(session)
            await speak(session, "cards_005.wav")
            answered = await collect_turn(session)
        (record,) = emu.records
    end = waited[-1].server_content
    assert end.turn_complete and end.waiting_for_input is True
    assert end.turn_complete_reason == types.TurnCompleteReason.NEED_MORE_INPUT
    assert not any(m.server_content and m.server_content.model_turn for m in waited)  # nothing said
    reply = transcript(answered)
    assert "You said" in reply and "no earlier turns" in reply, reply
    assert record.extra["waited_for_input"] == 1 and len(record.replies) == 1


async def _manual_turn(variant: str, detection_disabled: bool) -> tuple[str, list[int]]:
    config = EmulatorConfig(think_ms=20, pace=4.0, model_behaviours={"gemini-3.1-*": variant})
    detection = types.RealtimeInputConfig(
        automatic_activity_detection=types.AutomaticActivityDetection(disabled=detection_disabled)
    )
    async with LiveEmulator(config) as emu:
        reply = ""
        try:
            async with client_for(emu).aio.live.connect(
                model=MODEL_31, config=live_config(realtime_input_config=detection)
            ) as session:
                await session.send_realtime_input(activity_start=types.ActivityStart())
                await speak(session, "cards_001.wav", silence_s=0.2)
                await session.send_realtime_input(activity_end=types.ActivityEnd())
                reply = transcript(await collect_turn(session))
        except APIError:
            pass
        await emu.wait_closed(timeout=5)
        return reply, emu.close_codes


@pytest.mark.parametrize(
    "variant, accepted_with_detection_disabled",
    [("3.1@2026-08", True), ("3.1@2026-11", False)],
)
async def test_where_3_1_takes_manual_activity_marks(variant, accepted_with_detection_disabled):
    (off_reply, off_codes), (on_reply, on_codes) = await asyncio.gather(
        _manual_turn(variant, detection_disabled=True), _manual_turn(variant, detection_disabled=False)
    )
    accepted, refused = ((off_reply, off_codes), (on_reply, on_codes))
    if not accepted_with_detection_disabled:
        accepted, refused = refused, accepted
    assert "I heard you for" in accepted[0] and 1007 not in accepted[1], accepted
    assert refused == ("", [1007]), refused
