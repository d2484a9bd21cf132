"""How replies are delivered: pacing profiles, TEXT modality, voices and reply languages."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from google.genai import types

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from gemini_live_emulator.model.pacing import Pacing, schedule

from .sdk_helpers import audio_bytes, client_for, collect_turn, live_config, transcript

MODEL = "gemini-3.8-live"


def test_schedules():
    rt = schedule(Pacing.parse("realtime"), 100, 0.04)
    assert rt[-1] == pytest.approx(3.96)
    burst = schedule(Pacing.parse("burst:2"), 100, 0.04)
    assert burst[:50] == [0.0] * 50 and burst[-1] == pytest.approx(1.96)
    slow = schedule(Pacing.parse("slow:0.8"), 100, 0.04)
    assert slow[-1] > 3.96 / 0.8 and max(np.diff(slow)) >= 0.3  # below real time, with a gap
    jitter = schedule(Pacing.parse("jitter:3"), 200, 0.04)
    assert jitter == schedule(Pacing.parse("jitter:3"), 200, 0.04)  # seeded
    steps = set(np.round(np.diff(jitter), 3))
    assert {0.01, 0.08} <= steps  # both faster and slower than real time
    for bad in ("warp", "burst:-1", "slow:2", "realtime:1", "jitter:inf", "burst:nan"):
        with pytest.raises(ValueError):
            Pacing.parse(bad)
    with pytest.raises(ValueError):
        EmulatorConfig(pacing="warp")


async def _typed_turn(emu, config, text="Hello there, how are you doing today?"):
    async with client_for(emu).aio.live.connect(model=MODEL, config=config) as session:
        await session.send_realtime_input(text=text)
        t0 = time.monotonic()
        arrivals, messages = [], []
        async for m in session.receive():
            messages.append(m)
            if m.server_content and m.server_content.model_turn:
                arrivals.append((time.monotonic() - t0, audio_bytes([m]) / 48000))
            if m.server_content and m.server_content.turn_complete:
                return arrivals, messages
    raise AssertionError("no turnComplete")


@pytest.mark.parametrize("pacing", ["realtime", "burst:1.5", "slow:0.7"])
async def test_pacing_profiles_deliver_whole_replies_ahead_or_behind_real_time(pacing):
    async with LiveEmulator(EmulatorConfig(think_ms=0, pacing=pacing)) as emu:
        arrivals, messages = await _typed_turn(emu, live_config())
    audio_s = sum(a for _, a in arrivals)
    first = arrivals[0][0]
    # How far ahead of playback the last chunk arrived (playback starting with the first chunk).
    lead = audio_s - (arrivals[-1][0] - first)
    if pacing == "realtime":
        assert -0.3 < lead < 0.5, lead
    elif pacing.startswith("burst"):
        assert lead > 1.0, lead
    else:
        assert lead < -0.4, lead  # delivery fell behind playback: a player starting at once runs dry
    said = transcript(messages)
    assert said.startswith("You are a test assistant.")  # output transcription complete
    usage = [m.usage_metadata for m in messages if m.usage_metadata][-1]
    assert usage.response_token_count == int(audio_s * 32)  # aligned with what was sent


async def test_text_modality_is_answered_in_text_parts():
    async with LiveEmulator(EmulatorConfig(think_ms=0, pace=5.0)) as emu:
        config = types.LiveConnectConfig(response_modalities=["TEXT"], system_instruction="You are the text persona.")
        _, messages = await _typed_turn(emu, config, "Hi")
    parts = [p for m in messages if m.server_content and m.server_content.model_turn for p in m.server_content.model_turn.parts]
    assert parts and all(p.text and not p.inline_data for p in parts)
    text = "".join(p.text for p in parts)
    assert text.startswith("You are the text persona.") and 'You wrote: "Hi"' in text


def centroid(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(float)))
    return float((spectrum * np.fft.rfftfreq(pcm.size, 1 / 24000)).sum() / spectrum.sum())


async def _reply_audio(emu, voice=None, language=None) -> tuple[np.ndarray, str]:
    speech = types.SpeechConfig(
        voice_config=types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=voice)) if voice else None,
        language_code=language,
    )
    config = live_config("Tu es Ada.", speech_config=speech)
    _, messages = await _typed_turn(emu, config, "Bonjour")
    pcm = b"".join(
        p.inline_data.data for m in messages if m.server_content and m.server_content.model_turn
        for p in m.server_content.model_turn.parts if p.inline_data
    )
    return np.frombuffer(pcm, dtype=np.int16), transcript(messages)


async def test_voice_names_sound_different_and_languages_follow_the_language_code():
    async with LiveEmulator(EmulatorConfig(think_ms=0, pace=8.0)) as emu:
        puck, _ = await _reply_audio(emu, "Puck")
        kore, _ = await _reply_audio(emu, "Kore")
        puck_again, _ = await _reply_audio(emu, "Puck")
        _, french = await _reply_audio(emu, "Puck", "fr-FR")
        _, german = await _reply_audio(emu, None, "de-DE")
    # Synthesis varies by a few samples run to run; a voice's timbre (spectral centroid) does not.
    assert abs(centroid(puck) - centroid(puck_again)) < 30
    assert abs(centroid(puck) - centroid(kore)) > 60
    assert "Vous avez écrit : « Bonjour »" in french and "tours précédents" in french
    assert "Sie schrieben: „Bonjour“" in german and "frühere Runden" in german
