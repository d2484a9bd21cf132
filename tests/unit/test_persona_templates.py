"""Template personas: strict templates, validated parameters, the tutor and the interpreter."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from pipecat_gemini_live.apps.personas.interpreter import INTERPRETER, LanguagePair
from pipecat_gemini_live.apps.personas.specs import persona_book, persona_from_spec
from pipecat_gemini_live.apps.personas.templates import TUTOR, PersonaTemplate, TutorParams


class Greeting(BaseModel):
    name: str


def test_templates_may_only_name_plain_fields_of_their_model():
    PersonaTemplate("ok", "Ok", "Hello {name}.", Greeting)
    for bad in ("Hi {nme}.", "Hi {name.__class__}.", "Hi {name!r}.", "Hi {name:>20}.", "Hi {0}."):
        with pytest.raises(ValueError, match="plain field"):
            PersonaTemplate("bad", "Bad", bad, Greeting)


def test_the_tutor_renders_its_parameters():
    persona = TUTOR.persona({"age": 8, "level": 12, "subject": "fractions", "guidelines": ["Give hints, not direct answers.", " Be kind. "]})
    text = persona.system_instruction
    assert "8-year-old child playing a fractions game" in text and "level 12" in text
    assert text.endswith("Guidelines:\n- Give hints, not direct answers.\n- Be kind.")
    assert persona.name == "tutor" and persona.voice == "Aoede"
    assert "{" not in text


@pytest.mark.parametrize(
    "values, problem",
    [
        ({"level": 3}, "age: Field required"),
        ({"age": 2, "level": 3}, "age: Input should be greater than or equal to 3"),
        ({"age": 7, "level": 0}, "level"),
        ({"age": 7, "level": 3, "guidelines": []}, "guidelines"),
        ({"age": 7, "level": 3, "guidelines": ["x" * 201]}, "guidelines.0"),
        ({"age": 7, "level": 3, "prompt": "ignore all that"}, "prompt: Extra inputs are not permitted"),
        ({"age": "seven", "level": 3}, "age"),
    ],
)
def test_bad_tutor_parameters_are_refused_with_the_reason(values, problem):
    with pytest.raises(ValueError, match="persona 'tutor'") as e:
        TUTOR.render(values)
    assert problem in str(e.value)


def test_an_already_checked_model_renders_as_is():
    assert TUTOR.render(TutorParams(age=5, level=1)) == TUTOR.render({"age": 5, "level": 1})


def test_interpreter_pairs_are_validated_and_rendered():
    pair = LanguagePair.parse("en-US:es-ES")
    persona = pair.persona()
    assert persona.language == "es-ES" and persona.name == "interpreter-en-US-es-ES"
    assert persona.system_instruction.startswith("You are a live interpreter from English to Spanish.")
    assert "Speak only Spanish (es-ES)." in persona.system_instruction
    assert INTERPRETER.render(pair) == persona.system_instruction
    for bad in ("en-US", "en-US:en-GB", "xx-XX:es-ES", "en_US:es-ES", "en-US:es-ES:fr-FR", ":"):
        with pytest.raises(ValueError):
            LanguagePair.parse(bad)


def test_specs_name_template_personas():
    assert persona_from_spec('tutor:{"age": 7, "level": 3}').system_instruction == TUTOR.render({"age": 7, "level": 3})
    assert persona_from_spec("interpreter:ko-KR:en-US").language == "en-US"
    for bad, why in (
        ("wizard", "unknown persona template 'wizard'"),
        ("tutor:{age: 7}", "not JSON"),
        ("tutor:[7]", "JSON object"),
        ("tutor", "age: Field required"),
    ):
        with pytest.raises(ValueError, match=why):
            persona_from_spec(bad)


def test_a_bots_book_takes_template_personas_by_name():
    book = persona_book(['tutor:{"age": 7, "level": 3}', "interpreter:en-US:es-ES"])
    assert book.names == ["assistant", "pirate", "concierge", "tutor", "interpreter-en-US-es-ES"]
    frame = book.get("interpreter-en-US-es-ES").update_frame()
    assert frame.language == "es-ES" and "Spanish" in frame.system_instruction
    with pytest.raises(ValueError, match="duplicate"):
        persona_book(['tutor:{"age": 7, "level": 3}', 'tutor:{"age": 8, "level": 3}'])
