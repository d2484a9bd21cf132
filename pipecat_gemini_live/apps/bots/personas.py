"""The personas a bot offers its callers, and the frames that switch to them.

A room participant or a browser button asks for a persona **by name**; the instruction text
stays on the server. Letting anyone in a room send a free-form system instruction would hand
them the bot's prompt, so the bots only switch between personas their operator configured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ...frames import PersonaUpdateFrame


@dataclass(frozen=True)
class Persona:
    """One persona a bot can be.

    Attributes:
        name: Short identifier used in app messages and buttons (``"pirate"``).
        title: What a page shows on the button (``"Pirate"``).
        system_instruction: The system instruction the Live session gets.
        voice: Prebuilt voice name, or None to keep the current one.
        language: Speech language (BCP-47, ``"es-ES"``), or None to keep the current one.
    """

    name: str
    title: str
    system_instruction: str
    voice: str | None = None
    language: str | None = None

    def update_frame(self) -> PersonaUpdateFrame:
        """The frame that switches a running call to this persona.

        ``PersonaUpdateFrame.name`` is not set: Pipecat's ``Frame`` overwrites a field of that
        name with the frame's own id, so a persona is recognised by its instruction instead
        (:meth:`PersonaBook.by_instruction`).
        """
        return PersonaUpdateFrame(system_instruction=self.system_instruction, voice=self.voice, language=self.language)


DEFAULT_PERSONAS: tuple[Persona, ...] = (
    Persona(
        "assistant",
        "Assistant",
        "You are a helpful assistant. Answer briefly and kindly, in one or two sentences.",
    ),
    Persona(
        "pirate",
        "Pirate",
        "You are a cheerful pirate captain. Speak like a pirate and keep answers short.",
        voice="Puck",
    ),
    Persona(
        "concierge",
        "Concierge",
        "You are a polite hotel concierge. Help with bookings, directions and local tips.",
        voice="Kore",
    ),
)


class PersonaBook:
    """A bot's personas by name, with the first one as the call's opening persona.

    Args:
        personas: At least one persona; names must be unique and non-empty.

    Raises:
        ValueError: No personas, an empty name or instruction, or a duplicate name.
    """

    def __init__(self, personas: Iterable[Persona] = DEFAULT_PERSONAS):
        self._by_name: dict[str, Persona] = {}
        for persona in personas:
            if not persona.name or not persona.system_instruction.strip():
                raise ValueError(f"persona {persona!r} needs a name and a system instruction")
            if persona.name in self._by_name:
                raise ValueError(f"duplicate persona name {persona.name!r}")
            self._by_name[persona.name] = persona
        if not self._by_name:
            raise ValueError("a PersonaBook needs at least one persona")

    @property
    def first(self) -> Persona:
        """The persona a call starts with."""
        return next(iter(self._by_name.values()))

    @property
    def names(self) -> list[str]:
        """Persona names, in the order they were given."""
        return list(self._by_name)

    def get(self, name: str) -> Persona:
        """The persona called ``name``.

        Raises:
            KeyError: No such persona (the message lists the known names).
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown persona {name!r}; known: {', '.join(self._by_name)}") from None

    def by_instruction(self, system_instruction: str | None) -> Persona | None:
        """The persona whose instruction this is, or None."""
        for persona in self._by_name.values():
            if persona.system_instruction == system_instruction:
                return persona
        return None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def public(self) -> list[Mapping[str, str]]:
        """What a client may see: names and titles, never the instructions."""
        return [{"name": p.name, "title": p.title} for p in self._by_name.values()]
