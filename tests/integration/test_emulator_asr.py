"""What the emulator hears, seen through the unmodified google-genai SDK."""

from __future__ import annotations

import asyncio
import numpy as np
import pytest
from google.genai import types

from gemini_live_emulator.model.conversation import QUOTED_WORDS
from gemini_live_emulator import EmulatorConfig, LiveEmulator
from gemini_live_emulator.model.asr import word_error_rate

from .sdk_helpers import client_for, collect_turn, live_config, speak, transcript

MODEL = "gemini-3.8-live"

pytestmark = pytest.mark.asr  # words are what these tests check


def input_pieces(messages) -> list[types.Transcription]:
    return [m.server_content.input_transcription for m in messages if m.server_content and m.server_content.input_transcription]


async def test_the_caller_words_are_transcribed_and_quoted():
    async with LiveEmulator(EmulatorConfig(think_ms=20, pace=4.0)) as emu:
        async with client_for(emu).aio.live.connect(model=MODEL, config=live_config("You are Ada. Be brief.")) as session:
            await speak(session, "librivox_0880.wav", realtime=True)
            turn = await collect_turn(session)
            await speak(session, "cards_005.wav")
            second = await collect_turn(session)
    pieces = input_pieces(turn)
    heard = "".join(p.text for p in pieces)
    assert word_error_rate("he was not an ill disposed young man", heard) <= 0.5, heard
    assert len(pieces) >= 2  # interim pieces while speaking, then the rest
    assert [bool(p.finished) for p in pieces] == [False] * (len(pieces) - 1) + [True]
    reply = transcript(turn)
    # The reply quotes the start of what was heard (a reply must fit between a caller's turns).
    quoted = " ".join(heard.split()[:QUOTED_WORDS])
    assert reply.startswith("You are Ada.") and f'You said: "{quoted}' in reply, (reply, heard)
    assert "no earlier turns" in reply
    later = "".join(p.text for p in input_pieces(second))
    assert word_error_rate("eight of spades four of clubs seven of hearts", later) <= 0.5, later
    assert "two earlier turns" in transcript(second)


async def test_typed_text_is_not_transcribed_and_a_tone_has_no_words():
    async with LiveEmulator(EmulatorConfig(think_ms=20, pace=4.0)) as emu:
        async with client_for(emu).aio.live.connect(model=MODEL, config=live_config()) as session:
            await session.send_realtime_input(text="What is on the menu?")
            typed = await collect_turn(session)
            rate = 24000
            t = np.arange(int(0.9 * rate)) / rate
            tone = np.concatenate([(0.3 * 32767 * np.sin(2 * np.pi * 440 * t)), np.zeros(rate)]).astype(np.int16)
            for i in range(0, tone.size, 480):
                await session.send_realtime_input(
                    audio=types.Blob(data=tone[i : i + 480].tobytes(), mime_type=f"audio/pcm;rate={rate}")
                )
            beep = await collect_turn(session)
    assert input_pieces(typed) == []
    assert 'You wrote: "What is on the menu?"' in transcript(typed)
    assert "I heard you for 0.9 seconds" in transcript(beep)
    assert "You said" not in transcript(beep) or word_error_rate("ten of clubs", transcript(beep)) > 0.5


async def test_recognition_off_describes_speech_by_its_length():
    async with LiveEmulator(EmulatorConfig(think_ms=20, pace=4.0, asr=False)) as emu:
        async with client_for(emu).aio.live.connect(model=MODEL, config=live_config()) as session:
            await speak(session, "cards_001.wav")
            turn = await collect_turn(session)
    assert "".join(p.text for p in input_pieces(turn)) == "(caller speech, 0.9 seconds)"
    assert "You said" not in transcript(turn) and "I heard you for 0.9 seconds" in transcript(turn)


class _SlowRecogniser:
    """Stands in for the recogniser: "hears" ten of clubs, 3 s after each utterance ends (past the reply)."""

    def __init__(self, on_interim=None):
        pass

    def begin(self, rate, preroll=b""):
        pass

    def feed(self, pcm):
        pass

    def end(self):
        from gemini_live_emulator.model.asr_common import Heard

        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(3.0, future.set_result, Heard("ten of clubs", 0))
        return future

    def close(self):
        pass


async def _until_finished_input(session, timeout: float = 10.0) -> list:
    out = []

    async def read():
        async for message in session.receive():
            out.append(message)
            piece = message.server_content and message.server_content.input_transcription
            if piece and piece.finished:
                return

    await asyncio.wait_for(read(), timeout)
    return out


async def test_words_later_than_the_reply_still_arrive_as_the_finished_transcription(monkeypatch):
    from gemini_live_emulator.model import asr

    monkeypatch.setattr(asr, "StreamingRecognizer", _SlowRecogniser)
    async with LiveEmulator(EmulatorConfig(think_ms=20, pace=4.0, asr=True, listen_timeout_s=0.05)) as emu:
        async with client_for(emu).aio.live.connect(model=MODEL, config=live_config()) as session:
            await speak(session, "cards_001.wav")
            turn = await collect_turn(session)
            later = [] if input_pieces(turn) else await _until_finished_input(session)
    reply = transcript(turn)
    assert "I heard you for" in reply and "You said" not in reply and "could not make out" not in reply
    pieces = input_pieces(turn) + input_pieces(later)
    assert [(p.text, bool(p.finished)) for p in pieces] == [("ten of clubs", True)]
