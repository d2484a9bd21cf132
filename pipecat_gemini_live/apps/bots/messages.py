"""The app messages a bot exchanges with its room or page (pure: dicts in, dicts out).

Every message is a JSON object carrying ``"label": "pipecat-gemini-live"`` so that it can share
a Daily room or a data channel with other protocols (RTVI, prebuilt chat...). Messages without
the label are not ours and are left alone.

Client -> bot:

- ``{"label": ..., "type": "persona", "name": "pirate"}``: switch the bot to a configured persona.

Bot -> client:

- ``{"label": ..., "type": "bot-ready", "persona": "assistant", "personas": [{"name", "title"}]}``
- ``{"label": ..., "type": "transcript", "role": "user" | "bot", "text": str, "final": bool,
  "interrupted": bool}``: the caller's turn (final), or the bot's words as they are spoken
  (partial pieces, then the whole reply as final).
- ``{"label": ..., "type": "persona-changed", "name": str | None, "ok": bool,
  "switch_gap_ms": float | None}``
- ``{"label": ..., "type": "error", "error": str}``: a request this bot refused.
"""

from __future__ import annotations

from typing import Any

from .personas import Persona, PersonaBook

MESSAGE_LABEL = "pipecat-gemini-live"


class AppMessageError(ValueError):
    """A message labelled as ours that breaks the protocol (the text says which rule)."""


def is_ours(message: Any) -> bool:
    """Whether ``message`` belongs to this protocol."""
    return isinstance(message, dict) and message.get("label") == MESSAGE_LABEL


def parse_persona_request(message: Any, personas: PersonaBook) -> Persona | None:
    """The persona a client message asks for.

    Args:
        message: A decoded app message (any JSON value).
        personas: The personas this bot offers.

    Returns:
        The requested persona, or None when the message is not ours.

    Raises:
        AppMessageError: Ours, but of an unknown type, without a string ``name``, or naming a
            persona this bot does not offer.
    """
    if not is_ours(message):
        return None
    kind = message.get("type")
    if kind != "persona":
        raise AppMessageError(f"unknown message type {kind!r}; this bot accepts 'persona'")
    name = message.get("name")
    if not isinstance(name, str) or not name:
        raise AppMessageError("a 'persona' message needs a non-empty string 'name'")
    try:
        return personas.get(name)
    except KeyError as e:
        raise AppMessageError(e.args[0]) from None


def bot_ready(current: Persona, personas: PersonaBook) -> dict:
    """Announces the bot and the personas a client may ask for."""
    return {"label": MESSAGE_LABEL, "type": "bot-ready", "persona": current.name, "personas": personas.public()}


def transcript(role: str, text: str, *, final: bool, interrupted: bool = False) -> dict:
    """One transcript update.

    Args:
        role: ``"user"`` (the caller) or ``"bot"``.
        text: The words.
        final: Whether this is the whole turn (False: a piece of a reply being spoken).
        interrupted: The bot's reply was cut before it finished (final bot turns only).

    Raises:
        ValueError: Another role.
    """
    if role not in ("user", "bot"):
        raise ValueError(f"role must be 'user' or 'bot', got {role!r}")
    return {
        "label": MESSAGE_LABEL,
        "type": "transcript",
        "role": role,
        "text": text,
        "final": final,
        "interrupted": interrupted,
    }


def persona_changed(name: str | None, *, ok: bool, switch_gap_ms: float | None = None) -> dict:
    """The outcome of a persona switch."""
    return {"label": MESSAGE_LABEL, "type": "persona-changed", "name": name, "ok": ok, "switch_gap_ms": switch_gap_ms}


def error(text: str) -> dict:
    """A refusal the client should show."""
    return {"label": MESSAGE_LABEL, "type": "error", "error": text}
