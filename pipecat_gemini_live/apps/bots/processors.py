"""Frame processors the ready bots put around the service: persona requests in, transcripts out.

Both work with any Pipecat transport whose input pushes ``InputTransportMessageFrame`` for app
messages and whose output sends ``OutputTransportMessageFrame`` (Daily, SmallWebRTC, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    InputTransportMessageFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
    TranscriptionFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from . import messages
from .personas import Persona, PersonaBook


class PersonaMessageSwitcher(FrameProcessor):
    """Turns a client's ``persona`` app message into a :class:`~pipecat_gemini_live.PersonaUpdateFrame`.

    Place it right after ``transport.input()``. A persona request is consumed and replaced by
    the persona's update frame (a system frame: it reaches the service ahead of queued audio).
    A request that breaks the protocol (unknown persona, bad fields) is consumed too, and
    answered with an ``error`` app message. Every other frame, including other protocols' app
    messages, passes on untouched.

    Args:
        personas: The personas clients may ask for, by name.
        **kwargs: Passed to ``FrameProcessor``.
    """

    def __init__(self, personas: PersonaBook, **kwargs):
        super().__init__(**kwargs)
        self._personas = personas
        self.requests = 0
        self.refused = 0
        self.last_request: Persona | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Replace persona requests with update frames; pass everything else on."""
        await super().process_frame(frame, direction)
        if not isinstance(frame, InputTransportMessageFrame):
            await self.push_frame(frame, direction)
            return
        try:
            persona = messages.parse_persona_request(frame.message, self._personas)
        except messages.AppMessageError as e:
            self.refused += 1
            logger.warning(f"{self}: refused app message: {e}")
            await self.push_frame(OutputTransportMessageUrgentFrame(message=messages.error(str(e))))
            return
        if persona is None:
            await self.push_frame(frame, direction)
            return
        self.requests += 1
        self.last_request = persona
        logger.info(f"{self}: client asked for persona {persona.name!r}")
        await self.push_frame(persona.update_frame())


@dataclass
class TranscriptEvent:
    """One transcript update seen by a :class:`TranscriptWatcher`.

    Attributes:
        role: ``"user"`` (the caller, from the service's ``TranscriptionFrame``) or ``"bot"``
            (from its ``TTSTextFrame``s).
        text: A piece of the bot's reply (``final`` False), or the whole turn (``final`` True).
        final: The turn is over.
        interrupted: The bot's reply was cut (barge-in or a persona switch).
    """

    role: str
    text: str
    final: bool
    interrupted: bool = False


class TranscriptWatcher(FrameProcessor):
    """Sees the conversation go by and hands :class:`TranscriptEvent`\\ s to :meth:`on_transcript`.

    The service pushes the caller's transcript **upstream** (``TranscriptionFrame``) and its
    own words **downstream** (``TTSTextFrame``), so a watcher sees whichever side it is placed
    on: put one between the user aggregator and the service for the caller, and one after the
    service for the bot. All frames pass on unchanged.

    A bot reply runs from ``TTSStartedFrame`` to ``TTSStoppedFrame`` / ``LLMFullResponseEndFrame``.
    An ``InterruptionFrame`` (barge-in, persona switch) ends it as cut: being a system frame it
    can overtake the reply's last frames, and Pipecat drops frames still queued behind it, so
    the cut reply is reported as soon as the interruption is seen, with the words seen so far.

    Subclasses implement :meth:`on_transcript`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._bot_pieces: list[str] = []
        self._cut = False

    async def on_transcript(self, event: TranscriptEvent) -> None:
        """Called for every transcript update, in order."""
        raise NotImplementedError

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Pass the frame on after reporting what it says about the conversation."""
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame) and direction == FrameDirection.UPSTREAM:
            if frame.text.strip():
                await self.on_transcript(TranscriptEvent("user", frame.text.strip(), final=True))
        elif isinstance(frame, TTSStartedFrame):
            # A reply that never closed was cut before its end arrived.
            await self._end_bot_turn(interrupted=True)
            self._cut = False
        elif isinstance(frame, TTSTextFrame) and direction == FrameDirection.DOWNSTREAM:
            self._bot_pieces.append(frame.text)
            await self.on_transcript(TranscriptEvent("bot", frame.text, final=False))
        elif isinstance(frame, (TTSStoppedFrame, LLMFullResponseEndFrame)):
            await self._end_bot_turn(interrupted=self._cut)
        elif isinstance(frame, InterruptionFrame):
            self._cut = True
            await self._end_bot_turn(interrupted=True)

    async def _end_bot_turn(self, *, interrupted: bool) -> None:
        if not self._bot_pieces:
            return
        text = _join(self._bot_pieces)
        self._bot_pieces = []
        await self.on_transcript(TranscriptEvent("bot", text, final=True, interrupted=interrupted))


def _join(pieces: list[str]) -> str:
    # Output transcription pieces carry their own spacing; only the ends are trimmed.
    return "".join(pieces).strip()


class TranscriptMessenger(TranscriptWatcher):
    """Sends the conversation to the room / page as ``transcript`` app messages.

    Messages go downstream as ``OutputTransportMessageFrame`` (not urgent): the output
    transport sends them in order with the audio, so a client sees each piece of the bot's
    reply as it is heard, not ahead of it.

    Args:
        send_partial: Also send each piece of the bot's reply as it is spoken (a live
            transcript); False sends whole turns only.
        **kwargs: Passed to ``FrameProcessor``.
    """

    def __init__(self, *, send_partial: bool = True, **kwargs):
        super().__init__(**kwargs)
        self._send_partial = send_partial

    async def on_transcript(self, event: TranscriptEvent) -> None:
        """Push the event as an app message toward the output transport."""
        if not event.final and not self._send_partial:
            return
        message = messages.transcript(event.role, event.text, final=event.final, interrupted=event.interrupted)
        await self.push_frame(OutputTransportMessageFrame(message=message))
