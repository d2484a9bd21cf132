"""Template personas named on a command line: ``tutor:{"age": 7, "level": 3}`` or
``interpreter:en-US:es-ES``, for the main job and the bots."""

from __future__ import annotations

import json
from typing import Any

from ..bots.personas import DEFAULT_PERSONAS, Persona, PersonaBook
from .interpreter import LanguagePair
from .templates import TEMPLATES, PersonaTemplate


def persona_from_spec(spec: str, templates: dict[str, PersonaTemplate] | None = None) -> Persona:
    """The rendered persona a spec names.

    Forms: ``interpreter:SOURCE:TARGET`` (a :class:`~.interpreter.LanguagePair`), ``NAME`` or
    ``NAME:JSON`` for a template of ``templates`` (default: :data:`~.templates.TEMPLATES`,
    the tutor), the JSON object holding its parameters.

    Raises:
        ValueError: An unknown template, JSON that is not an object, or invalid parameters
            (the message says which and why).
    """
    templates = TEMPLATES if templates is None else templates
    name, sep, raw = spec.strip().partition(":")
    if name == "interpreter":
        return LanguagePair.parse(raw).persona()
    template = templates.get(name)
    if template is None:
        known = ", ".join([*templates, "interpreter"])
        raise ValueError(f"unknown persona template {name!r}; known: {known}")
    values: Any = {}
    if sep and raw.strip():
        try:
            values = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"persona {name!r}: parameters are not JSON ({e.msg})") from None
        if not isinstance(values, dict):
            raise ValueError(f"persona {name!r}: parameters must be a JSON object")
    return template.persona(values)


def persona_book(specs: list[str], *, defaults: bool = True) -> PersonaBook:
    """A bot's personas: the default ones (unless ``defaults`` is False), then one per spec.

    Raises:
        ValueError: A bad spec, or two personas of one name.
    """
    extra = [persona_from_spec(spec) for spec in specs]
    return PersonaBook([*(DEFAULT_PERSONAS if defaults else ()), *extra])
