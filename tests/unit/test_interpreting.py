"""How the emulator recognises a request to translate (:func:`find_cue`)."""

from __future__ import annotations

import pytest

from gemini_live_emulator.model.conversation import UserTurn
from gemini_live_emulator.model.interpreting import Cue, find_cue, interpret


@pytest.mark.parametrize(
    "text, language_code, expected",
    [
        ("You are a live interpreter from English to Spanish. Speak only Spanish.", None, Cue("es-ES")),
        ("Translate this from English to Spanish:", None, Cue("es-ES")),
        ("Translate this from English to Spanish: where is the station?", None, Cue("es-ES", "where is the station?")),
        ("Please translate everything into german.", "de-AT", Cue("de-AT")),
        ("Interpreting to Portuguese", "es-ES", Cue("pt-BR")),
        ("You are a tutor. Reply in Spanish.", None, None),
        ("Talk about translation. Then go to Spain and speak French.", None, None),  # not one sentence
        ("Translate this into Klingon:", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_find_cue(text, language_code, expected):
    assert find_cue(text, language_code) == expected


def test_the_instruction_holds_unless_a_cue_names_another_language():
    spoken = UserTurn(speech_s=1.5)
    instruction = "You are an interpreter from English to Italian."
    translation, standing = interpret(spoken, instruction, None, None)
    assert translation.text == "[it-IT] L'ho sentita per 1.5 secondi." and standing is None
    cued = UserTurn(speech_s=1.0, texts=["Translate to Dutch:"])
    translation, standing = interpret(cued, instruction, None, None)
    assert translation.language == "nl-NL" and standing == "nl-NL"
    translation, _ = interpret(UserTurn(speech_s=1.0), instruction, standing, None)
    assert translation.language == "nl-NL"
    assert interpret(UserTurn(speech_s=1.0), "You are Ada.", None, None) == (None, None)
