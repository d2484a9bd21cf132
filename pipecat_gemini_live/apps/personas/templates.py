"""Personas defined by a template and parameters: the instruction is rendered from values the
application (or an operator's command line) gives, validated before anything reaches a session.

A :class:`PersonaTemplate` is a ``str.format`` template whose placeholders must all be fields of
its pydantic parameter model (checked when the template is defined: no attribute or index
access, no conversions, no stray fields), and parameters are validated by that model (types,
ranges, lengths; unknown names refused). Rendering gives a bots' :class:`~.bots.personas.Persona`,
so a rendered persona is switched to by name like any other (a ``PersonaBook``, the bots'
persona messages, the main job's ``--persona-at SECONDS=template:SPEC``; see :mod:`.specs`).

The tutor (:data:`TUTOR`) is the example: a child's age, the game's current level, the subject
and guidelines such as "give hints, not direct answers".
"""

from __future__ import annotations

import string
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..bots.personas import Persona

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PersonaTemplate:
    """A persona whose instruction is rendered from validated parameters.

    Args:
        name: The persona's name once rendered (``"tutor"``).
        title: What a page shows for it.
        template: ``str.format`` text; ``{field}`` for each field of ``params`` it uses.
        params: The pydantic model the parameters must satisfy.
        voice: Prebuilt voice name (None: keep the call's).
        language: Speech language, BCP-47 (None: keep the call's).
        derived: Names of values :meth:`values` adds to the parameters (placeholders allowed
            beyond the model's fields).

    Raises:
        ValueError: A placeholder that is not a plain field name of ``params``.
    """

    def __init__(
        self,
        name: str,
        title: str,
        template: str,
        params: type[BaseModel],
        *,
        voice: str | None = None,
        language: str | None = None,
        derived: tuple[str, ...] = (),
    ):
        fields = set(params.model_fields) | set(derived)
        for _literal, field, spec, conversion in string.Formatter().parse(template):
            if field is None:
                continue
            if field not in fields or spec or conversion:
                raise ValueError(
                    f"template {name!r}: placeholder {{{field}}} must be a plain field of "
                    f"{params.__name__} ({', '.join(sorted(fields))})"
                )
        self.name = name
        self.title = title
        self.template = template
        self.params = params
        self.voice = voice
        self.language = language

    def validate(self, values: dict[str, Any] | BaseModel | None = None) -> BaseModel:
        """The parameters, checked by the model.

        Raises:
            ValueError: What is wrong with them (pydantic's messages, one per problem).
        """
        if isinstance(values, self.params):
            return values
        try:
            return self.params.model_validate(values or {})
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'parameters'}: {err['msg']}" for err in e.errors())
            raise ValueError(f"persona {self.name!r}: {problems}") from None

    def render(self, values: dict[str, Any] | BaseModel | None = None) -> str:
        """The instruction for these parameters (lists become one ``- item`` line each)."""
        checked = self.validate(values)
        return self.template.format_map({k: _text(v) for k, v in self.values(checked).items()})

    def values(self, checked: BaseModel) -> dict[str, Any]:
        """What the template is rendered with: the checked parameters (a subclass may add the
        ``derived`` values)."""
        return checked.model_dump()

    def persona(self, values: dict[str, Any] | BaseModel | None = None, *, name: str | None = None) -> Persona:
        """A :class:`Persona` (for a ``PersonaBook`` or a ``PersonaUpdateFrame``)."""
        return Persona(name or self.name, self.title, self.render(values), voice=self.voice, language=self.language)


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "\n".join(f"- {item}" for item in value)
    return str(value)


class TutorParams(BaseModel):
    """The tutor's parameters: ``age`` (years, 3-17), ``level`` (the game level, 1-100),
    ``subject`` and ``guidelines`` (1-10 lines of at most 200 characters)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    age: int = Field(ge=3, le=17)
    level: int = Field(ge=1, le=100)
    subject: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "reading and counting"
    guidelines: list[Line] = Field(
        default_factory=lambda: [
            "Give hints, not direct answers.",
            "Praise effort, not only right answers.",
            "Ask one short question at a time.",
        ],
        min_length=1,
        max_length=10,
    )


TUTOR = PersonaTemplate(
    "tutor",
    "Tutor",
    "You are a patient, cheerful voice tutor for a {age}-year-old child playing a {subject} game. "
    "The child is on level {level}: pitch questions and explanations at that level, in short "
    "sentences a {age}-year-old understands, and keep each answer under three sentences.\n"
    "Guidelines:\n{guidelines}",
    TutorParams,
    voice="Aoede",
)

TEMPLATES: dict[str, PersonaTemplate] = {TUTOR.name: TUTOR}
