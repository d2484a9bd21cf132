"""Interpreter mode, seen through the unmodified google-genai SDK: a session told to translate
answers each turn with the words it heard, marked with the target language, spoken in that
language's voice (:mod:`gemini_live_emulator.model.interpreting`)."""

from __future__ import annotations

import numpy as np
import pytest

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from gemini_live_emulator.model.asr import word_error_rate
from gemini_live_emulator.model.voice import synthesize_sync

from .sdk_helpers import client_for, collect_turn, live_config, speak, transcript

MODEL = "gemini-3.8-live"
WPM = EmulatorConfig().words_per_minute

pytestmark = pytest.mark.asr


def reply_audio(messages) -> bytes:
    return b"".join(
        p.inline_data.data
        for m in messages
        if m.server_content and m.server_content.model_turn
        for p in m.server_content.model_turn.parts or []
        if p.inline_data
    )


def voice_likeness(a: bytes, b: bytes) -> float:
    """Cosine similarity of two recordings' mean log spectra (20 ms frames at 24 kHz): 1.0 for
    the same voice saying the same words (eSpeak NG's output varies by a few samples run to run),
    about 0.99 for another language's voice."""

    def spectrum(pcm: bytes) -> np.ndarray:
        x = np.frombuffer(pcm, np.int16).astype(float)
        frames = x[: len(x) // 480 * 480].reshape(-1, 480) * np.hanning(480)
        s = np.log1p(np.abs(np.fft.rfft(frames, axis=1)).mean(axis=0))
        return s - s.mean()

    sa, sb = spectrum(a), spectrum(b)
    return float(sa @ sb / np.linalg.norm(sa) / np.linalg.norm(sb))


def spoken_in(audio: bytes, words: str, language: str, other: str = "en-US") -> tuple[bool, float, float]:
    """Whether ``audio`` is ``words`` in ``language``'s voice rather than ``other``'s, with both
    likenesses. Alone the same voice scores above 0.9997 and another below 0.994; in a full,
    loaded run the same voice once scored below 0.999 (two of them in one run), so the verdict
    is which voice it is closer to, with a floor well above silence or babble."""
    mine = voice_likeness(audio, synthesize_sync(words, language, WPM))
    theirs = voice_likeness(audio, synthesize_sync(words, other, WPM))
    return mine > 0.98 and mine > theirs, mine, theirs


async def test_an_interpreter_instruction_answers_with_the_heard_words_in_the_target_voice():
    async with LiveEmulator(EmulatorConfig(think_ms=20, pace=4.0)) as emu:
        config = live_config("You are a live interpreter from English to Spanish. Say only the translation.")
        async with client_for(emu).aio.live.connect(model=MODEL, config=config) as session:
            await speak(session, "librivox_0880.wav", realtime=True)
            turn = await collect_turn(session)
    said = transcript(turn)
    marker, _, words = said.partition(" ")
    assert marker == "[es-ES]", said
    assert word_error_rate("he was not an ill disposed young man", words) <= 0.5, said
    verdict = spoken_in(reply_audio(turn), words, "es-ES")
    assert verdict[0], verdict
    (record,) = emu.records
    assert record.extra["translations"] == [{"language": "es-ES", "text": said}]


async def test_a_per_turn_cue_holds_for_the_next_turns_and_keeps_the_setup_region():
    async with LiveEmulator(EmulatorConfig(think_ms=20, pace=4.0)) as emu:
        config = live_config("You are a helpful assistant.", speech_config={"language_code": "fr-CA"})
        async with client_for(emu).aio.live.connect(model=MODEL, config=config) as session:
            # A cue on its own is a text turn, answered as one (the real service answers it).
            await session.send_realtime_input(text="Translate this from English to French:")
            cue = await collect_turn(session)
            await speak(session, "cards_005.wav", realtime=True)
            first = await collect_turn(session)
            # Words after the cue's colon are translated with it.
            await session.send_realtime_input(text="Please translate into German: good morning")
            second = await collect_turn(session)
    assert not transcript(cue).startswith("[")
    said = transcript(first)
    assert said.startswith("[fr-CA] "), said
    assert word_error_rate("eight of spades four of clubs seven of hearts", said[8:]) <= 0.5, said
    verdict = spoken_in(reply_audio(first), said[8:], "fr-CA")
    assert verdict[0], verdict
    assert transcript(second) == "[de-DE] good morning"


async def test_without_a_translation_request_the_reply_is_the_usual_one():
    async with LiveEmulator(EmulatorConfig(think_ms=20, pace=4.0)) as emu:
        config = live_config("You are Ada. Talk to me about Spanish food.")
        async with client_for(emu).aio.live.connect(model=MODEL, config=config) as session:
            await speak(session, "cards_005.wav", realtime=True)
            turn = await collect_turn(session)
    assert transcript(turn).startswith("You are Ada."), transcript(turn)
