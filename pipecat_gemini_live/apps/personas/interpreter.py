"""A live interpreter as a persona: every caller turn is answered only with its translation,
spoken in the target language.

The language pair is a validated parameter (:class:`LanguagePair`, ``"en-US:es-ES"``), rendered
into the setup's system instruction with ``speechConfig.languageCode`` set to the target, so
the voice speaks the target language. Changing the pair mid-call is a persona switch
(:meth:`LanguagePair.persona` gives the ``Persona`` / ``PersonaUpdateFrame``); the service
applies it in-session or on a new session as the model's profile allows, and a language change
always takes a new setup.

Why the setup instruction on every profile, and no per-turn ``realtimeInput.text`` cue ("Translate
this from English to Spanish:"): a text cue sent with each turn is a user turn of its own on the
models that take it, answered as one, and it must arrive before the caller's audio ends to be
part of that turn; the instruction in the setup holds for every turn with nothing to time.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ..bots.personas import Persona
from .templates import PersonaTemplate

# Languages the Live API speaks (native-audio models), by primary subtag.
LANGUAGE_NAMES = {
    "ar": "Arabic", "bn": "Bengali", "de": "German", "en": "English", "es": "Spanish",
    "fr": "French", "gu": "Gujarati", "hi": "Hindi", "id": "Indonesian", "it": "Italian",
    "ja": "Japanese", "kn": "Kannada", "ko": "Korean", "ml": "Malayalam", "mr": "Marathi",
    "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ru": "Russian", "ta": "Tamil",
    "te": "Telugu", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "vi": "Vietnamese",
    "zh": "Chinese",
}  # fmt: skip
_CODE = re.compile(r"([a-z]{2,3})(?:-([A-Z]{2}|[0-9]{3}))?")


class LanguagePair(BaseModel):
    """``source`` -> ``target``, BCP-47 codes such as ``en-US`` and ``es-ES``.

    Raises:
        pydantic.ValidationError: An unknown language, a malformed code, or the same language
            on both sides.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    target: str

    @field_validator("source", "target")
    @classmethod
    def _known(cls, code: str) -> str:
        m = _CODE.fullmatch(code.strip())
        if not m or m.group(1) not in LANGUAGE_NAMES:
            raise ValueError(f"{code!r} is not a supported language code (e.g. en-US, es-ES; languages: {', '.join(sorted(LANGUAGE_NAMES))})")
        return code.strip()

    @model_validator(mode="after")
    def _different(self) -> "LanguagePair":
        if self.source.split("-")[0] == self.target.split("-")[0]:
            raise ValueError("source and target must be different languages")
        return self

    @classmethod
    def parse(cls, text: str) -> "LanguagePair":
        """``"en-US:es-ES"`` -> the pair.

        Raises:
            ValueError: Not ``SOURCE:TARGET``, or a pair :class:`LanguagePair` refuses.
        """
        source, sep, target = text.partition(":")
        if not sep:
            raise ValueError(f"expected SOURCE:TARGET language codes (e.g. en-US:es-ES), got {text!r}")
        return INTERPRETER.validate({"source": source, "target": target})

    @property
    def source_name(self) -> str:
        return LANGUAGE_NAMES[self.source.split("-")[0]]

    @property
    def target_name(self) -> str:
        return LANGUAGE_NAMES[self.target.split("-")[0]]

    @property
    def label(self) -> str:
        """``"interpreter-en-US-es-ES"``: the persona's name."""
        return f"interpreter-{self.source}-{self.target}"

    def instruction(self) -> str:
        """The rendered system instruction."""
        return INTERPRETER.render(self)

    def persona(self, voice: str | None = None) -> Persona:
        """The interpreter persona for this pair (speech language: the target)."""
        return Persona(
            self.label,
            f"{self.source_name} to {self.target_name}",
            self.instruction(),
            voice=voice,
            language=self.target,
        )


class _PairTemplate(PersonaTemplate):
    """The interpreter's template: its parameters are a :class:`LanguagePair`, and it also
    renders the languages' names."""

    def values(self, checked: BaseModel) -> dict:
        return {**checked.model_dump(), "source_name": checked.source_name, "target_name": checked.target_name}


INTERPRETER = _PairTemplate(
    "interpreter",
    "Interpreter",
    "You are a live interpreter from {source_name} to {target_name}. "
    "Each time the caller finishes speaking, say only the {target_name} translation of what they "
    "just said, faithfully and naturally, in the first person, as they said it. "
    "Never answer questions, add comments, greet, explain or ask for clarification: translate "
    "questions as questions. If a turn is already in {target_name}, repeat it unchanged. "
    "Speak only {target_name} ({target}).",
    LanguagePair,
    derived=("source_name", "target_name"),
)
