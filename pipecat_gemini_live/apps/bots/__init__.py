"""Building blocks of the ready bots in ``pipelines/`` (Daily, browser WebRTC).

- :class:`LiveBackend`: Gemini when ``GOOGLE_API_KEY`` is set, else the embedded emulator;
  :class:`SharedBackend`: one per process, started race-free by the first call.
- :class:`PersonaBook` / :class:`Persona`: the personas a bot offers, by name.
- :class:`PersonaMessageSwitcher`, :class:`TranscriptMessenger`, :class:`TranscriptWatcher`:
  processors for persona requests in and transcripts out, as app messages.
- :func:`build_bot_call`: one call's pipeline around any transport with app messages.
- :mod:`.messages`: the app-message protocol.
"""

from . import messages
from .backend import LiveBackend, SharedBackend
from .call import DEFAULT_MODEL, BotCall, build_bot_call, make_service
from .personas import DEFAULT_PERSONAS, Persona, PersonaBook
from .processors import PersonaMessageSwitcher, TranscriptEvent, TranscriptMessenger, TranscriptWatcher

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_PERSONAS",
    "BotCall",
    "LiveBackend",
    "SharedBackend",
    "Persona",
    "PersonaBook",
    "PersonaMessageSwitcher",
    "TranscriptEvent",
    "TranscriptMessenger",
    "TranscriptWatcher",
    "build_bot_call",
    "make_service",
    "messages",
]
