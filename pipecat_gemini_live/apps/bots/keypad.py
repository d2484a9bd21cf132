"""Persona switching on a phone: the caller presses ``*`` and then a persona's number.

The phone's answer to the room bots' ``persona`` app message (:mod:`.processors`): a phone has
no app messages, only keys (Twilio's ``dtmf`` messages, ``InputDTMFFrame`` in the pipeline). As
there, a caller picks among the personas the operator configured (:class:`.PersonaBook`), never
sends an instruction.

``*`` followed by ``1``-``9`` picks the book's first to ninth persona. Every other key reaches
the service as before (the model hears "the caller pressed the 5 key"), so phone menus keep
working; a ``*`` is held until the next key says what it was (a persona digit: consumed with
it; anything else: both pass on, in order).
"""

from __future__ import annotations

from loguru import logger
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import Frame, InputDTMFFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from .personas import Persona, PersonaBook

PREFIX = KeypadEntry.STAR


def key_menu(personas: PersonaBook) -> dict[str, Persona]:
    """``{"*1": first persona, "*2": second, ...}`` (at most nine)."""
    return {f"*{n}": personas.get(name) for n, name in enumerate(personas.names[:9], start=1)}


class PersonaKeypad(FrameProcessor):
    """Turns ``*`` + a digit into a :class:`~pipecat_gemini_live.PersonaUpdateFrame`.

    Place it right after ``transport.input()``.

    Args:
        personas: The personas callers may pick, numbered from 1 in the book's order.
        **kwargs: Passed to ``FrameProcessor``.

    Attributes:
        requests: Personas asked for, in order (the service reports whether each switch worked,
            ``on_switch``).
    """

    def __init__(self, personas: PersonaBook, **kwargs):
        super().__init__(**kwargs)
        self._menu = key_menu(personas)
        self._star: InputDTMFFrame | None = None
        self.requests: list[Persona] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Consume persona key pairs; pass every other frame (and key) on."""
        await super().process_frame(frame, direction)
        if not isinstance(frame, InputDTMFFrame):
            await self.push_frame(frame, direction)
            return
        star, self._star = self._star, None
        if star is None:
            if frame.button == PREFIX:
                self._star = frame
            else:
                await self.push_frame(frame, direction)
            return
        persona = self._menu.get(f"*{frame.button.value}")
        if persona is None:
            await self.push_frame(star, direction)
            if frame.button == PREFIX:
                self._star = frame  # "**2": the second star starts the choice
            else:
                await self.push_frame(frame, direction)
            return
        self.requests.append(persona)
        logger.info(f"{self}: caller pressed *{frame.button.value} for persona {persona.name!r}")
        await self.push_frame(persona.update_frame())
