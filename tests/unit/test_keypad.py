"""Persona switching on a phone (``*`` + a digit), with Pipecat's run_test."""

from __future__ import annotations

import pytest
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import InputDTMFFrame

from pipecat_gemini_live import PersonaUpdateFrame
from pipecat_gemini_live.apps.bots import PersonaBook
from pipecat_gemini_live.apps.bots.keypad import PersonaKeypad, key_menu
from pipecat.tests.utils import run_test


def keys(text: str) -> list[InputDTMFFrame]:
    return [InputDTMFFrame(button=KeypadEntry(k)) for k in text]


async def pressed(text: str, book: PersonaBook | None = None):
    keypad = PersonaKeypad(book or PersonaBook())
    down, _ = await run_test(keypad, frames_to_send=keys(text))
    passed = "".join(f.button.value for f in down if isinstance(f, InputDTMFFrame))
    updates = [f for f in down if isinstance(f, PersonaUpdateFrame)]
    return keypad, passed, updates


async def test_star_and_a_number_pick_that_persona_and_are_consumed():
    book = PersonaBook()
    keypad, passed, (update,) = await pressed("*2", book)
    assert passed == ""
    assert update.system_instruction == book.get("pirate").system_instruction and update.voice == "Puck"
    assert [p.name for p in keypad.requests] == ["pirate"]


@pytest.mark.parametrize(
    "text, passed, picked",
    [
        ("15#", "15#", []),  # a phone menu: every key reaches the model
        ("*9", "*9", []),  # no ninth persona
        ("*#", "*#", []),
        ("**3", "*", ["concierge"]),  # the second star starts the choice
        ("1*1", "1", ["assistant"]),
        ("*3*1", "", ["concierge", "assistant"]),
    ],
)
async def test_other_keys_pass_on_in_order(text, passed, picked):
    keypad, got, updates = await pressed(text)
    assert got == passed
    assert [p.name for p in keypad.requests] == picked and len(updates) == len(picked)


def test_the_menu_numbers_the_book_from_one():
    assert {k: p.name for k, p in key_menu(PersonaBook()).items()} == {"*1": "assistant", "*2": "pirate", "*3": "concierge"}
