"""The emulator's speech recogniser on the recorded speech of tests/data (words known)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import samplerate
import soundfile as sf

from bench.emulator_asr import references
from gemini_live_emulator.model import asr

DATA = Path(__file__).resolve().parents[1] / "data"


def at_rate(name: str, rate: int) -> np.ndarray:
    x, sr = sf.read(DATA / name, dtype="float32")
    if rate != sr:
        x = samplerate.resample(x, rate / sr, "sinc_best")
    return (np.clip(x, -1, 1) * 32767).astype(np.int16)


async def hear(pcm: np.ndarray, rate: int, interim: list | None = None) -> asr.Heard:
    rec = asr.StreamingRecognizer(on_interim=interim.append if interim is not None else None)
    try:
        rec.begin(rate)
        step = rate // 50
        for i in range(0, pcm.size, step):
            rec.feed(pcm[i : i + step].tobytes())
        return await rec.end()
    finally:
        rec.close()


def test_word_error_rate():
    assert asr.word_error_rate("ten of clubs", "Ten of clubs.") == 0.0
    assert asr.word_error_rate("ten of clubs", "ten of close") == pytest.approx(1 / 3)
    assert asr.word_error_rate("ten of clubs", "") == 1.0
    assert asr.word_error_rate("five five", "five five five five") == 1.0
    assert asr.word_error_rate("", "") == 0.0


@pytest.mark.parametrize("rate, bound", [(16000, 0.30), (48000, 0.30), (8000, 0.70)])
async def test_word_error_rate_on_recorded_speech_is_bounded(rate, bound):
    errors, words = 0.0, 0
    for name, said in references().items():
        heard = await hear(at_rate(name, rate), rate)
        n = len(said.split())
        errors += asr.word_error_rate(said, heard.text) * n
        words += n
    # Measured (docs/emulator-asr.md): about 20% wideband, 57% at telephone rate.
    assert errors / words <= bound


async def test_the_same_audio_is_always_heard_as_the_same_words():
    pcm = at_rate("librivox_0930.wav", 24000)
    first = await hear(pcm, 24000)
    await hear(at_rate("cards_005.wav", 8000), 8000)  # another line in between
    assert (await hear(pcm, 24000)).text == first.text


async def test_interim_pieces_lead_the_final_words():
    interim: list[str] = []
    heard = await hear(at_rate("librivox_0920.wav", 16000), 16000, interim)
    await asyncio.sleep(0)  # let the last interim callbacks run
    assert len(interim) >= 2 and interim[0] and all(p.startswith(" ") for p in interim[1:])
    sent = "".join(interim).split()
    assert heard.interim_words == len(sent)
    assert heard.text.split()[: len(sent)] == sent
    assert ("".join(interim) + heard.rest()).split() == heard.text.split()


async def test_a_tone_is_not_heard_as_the_sentence():
    rate = 16000
    t = np.arange(int(0.9 * rate)) / rate
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    tone_words = (await hear(tone, rate)).text
    sentence = (await hear(at_rate("librivox_0880.wav", rate), rate)).text
    assert tone_words != sentence
    assert asr.word_error_rate("he was not an ill disposed young man", tone_words) >= 0.8


class _DeadOnArrival:
    """A recogniser process that ends at once without decoding anything (a broken install)."""

    started = 0

    def __init__(self):
        type(self).started += 1
        self.alive, self.answered, self.ended_at = False, False, asr._now()

    def stop(self):
        pass


def test_a_recogniser_that_keeps_dying_is_restarted_with_growing_waits(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(asr, "_Recogniser", _DeadOnArrival)
    monkeypatch.setattr(asr, "_procs", [None] * asr.PROCESSES)
    monkeypatch.setattr(asr, "_failed_starts", [0] * asr.PROCESSES)
    monkeypatch.setattr(asr, "_now", lambda: clock[0])
    monkeypatch.setattr(asr.atexit, "register", lambda fn: None)
    _DeadOnArrival.started = 0

    def starts_within(seconds: float) -> int:
        before = _DeadOnArrival.started
        end = clock[0] + seconds
        while clock[0] < end:
            try:
                asr._recogniser(0)
            except RuntimeError as e:
                assert "restarting it in" in str(e)
            clock[0] += 0.01  # a request every 10 ms, as a busy emulator would make
        return _DeadOnArrival.started - before

    first = starts_within(1.0)  # the first start, then one after 0.5 s
    assert first == 2, first
    assert starts_within(60.0) <= 7  # then 1, 2, 4, 8, 16, 30, 30 s apart: never a spin
    assert asr._restart_delay(50) == 30


def test_a_recogniser_that_worked_is_restarted_at_once(monkeypatch):
    class _Worked(_DeadOnArrival):
        def __init__(self):
            super().__init__()
            self.answered = True

    monkeypatch.setattr(asr, "_Recogniser", _Worked)
    monkeypatch.setattr(asr, "_procs", [None] * asr.PROCESSES)
    monkeypatch.setattr(asr, "_failed_starts", [0] * asr.PROCESSES)
    monkeypatch.setattr(asr.atexit, "register", lambda fn: None)
    _Worked.started = 0
    for _ in range(3):
        asr._recogniser(0)
    assert _Worked.started == 3
