"""Which wire form content takes on its way to the server, decided in one place (pure).

The inbound half is :mod:`.inbound`. The facts behind the choices are in the model profiles
(:mod:`.profiles`): a model that takes ``clientContent`` mid-session gets the application's
turns and notes that way; one that takes it only as initial history (3.1) gets it before the
first realtime input and, after that, only a user turn that asks for an answer, as realtime
text (a late ``clientContent`` is closed with 1007); what cannot go now is kept for the next
session's seed. Tool results become ``toolResponse`` entries (with ``scheduling`` for
``NON_BLOCKING`` functions), or, for a call the session never made, a note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from google.genai.types import Content, FunctionResponse, FunctionResponseScheduling, Part

from .context_messages import Turn
from .history import CONTINUE_MARKER
from .profiles import HistorySeeding, ModelProfile

SCHEDULING = ("INTERRUPT", "WHEN_IDLE", "SILENT")


def contents(turns: list[Turn]) -> list[Content]:
    """``clientContent`` turns for ``turns`` (text parts, roles as given)."""
    return [Content(role=t.role, parts=[Part(text=t.text)]) for t in turns]


@dataclass(frozen=True)
class TurnsDelivery:
    """How the application's turns go to the session now.

    Attributes:
        client_content: Turns sent as ``clientContent`` (empty: none).
        turn_complete: The ``clientContent``'s ``turnComplete`` (the model answers it).
        realtime_text: The last user turn, sent as ``realtimeInput.text`` so that a model that
            waits for realtime input answers it; None when not.
        kept: Turns that cannot go to this session now: kept in the history for the next
            session's seed.
        owes_reply: Whether the model owes an answer once this is sent.
    """

    client_content: list[Content] = field(default_factory=list)
    turn_complete: bool = False
    realtime_text: str | None = None
    kept: list[Turn] = field(default_factory=list)
    owes_reply: bool = False


def takes_client_content_now(profile: ModelProfile, realtime_input_sent: bool) -> bool:
    """Whether a session on ``profile`` takes ``clientContent`` at this point of its life."""
    if profile.mid_session_client_content:
        return True
    return profile.history_seeding is HistorySeeding.INITIAL_HISTORY and not realtime_input_sent


def deliver_turns(profile: ModelProfile, turns: list[Turn], *, respond: bool, realtime_input_sent: bool) -> TurnsDelivery:
    """The wire form of the application's ``turns`` for a session on ``profile``.

    Args:
        profile: The session's model profile.
        turns: User / model turns, oldest first.
        respond: The model should answer (only when the last turn is the user's).
        realtime_input_sent: Whether realtime input already went to the session.
    """
    if not turns:
        return TurnsDelivery()
    respond = respond and turns[-1].role == "user"
    in_session = takes_client_content_now(profile, realtime_input_sent)
    # What a 3.x model will answer: a realtime user turn (it waits for realtime input).
    answer_as_text = respond and not profile.mid_session_client_content
    content_turns = turns[:-1] if answer_as_text else turns
    if content_turns and content_turns[-1].role != "user" and profile.seed_must_end_with_user:
        # This model refuses clientContent that ends with a model turn (1007); the same marker a
        # seed ends with keeps it a user turn, unanswered.
        content_turns = [*content_turns, Turn("user", CONTINUE_MARKER)]
    sent = content_turns if content_turns and in_session else []
    return TurnsDelivery(
        client_content=contents(sent),
        turn_complete=bool(sent) and respond and not answer_as_text,
        realtime_text=turns[-1].text if answer_as_text else None,
        kept=[] if sent else list(content_turns),
        owes_reply=respond,
    )


def note_delivery(profile: ModelProfile, text: str) -> TurnsDelivery:
    """A user-side note the model should answer: a complete ``clientContent`` user turn where
    the profile takes one mid-session, else realtime text."""
    if profile.mid_session_client_content:
        return TurnsDelivery(client_content=contents([Turn("user", text)]), turn_complete=True, owes_reply=True)
    return TurnsDelivery(realtime_text=text, owes_reply=True)


def orphan_note(function: str, body: dict) -> str:
    """The note that carries a function result to a session that never made the call (its id
    means nothing there)."""
    return f"[Function {function} returned {json.dumps(body, default=str)}]"


def result_body(value: Any, error: str | None, to_response_dict) -> tuple[dict, str | None]:
    """The ``response`` of a ``toolResponse`` for a handler's result, and a problem to report.

    Args:
        value: What the handler returned.
        error: The error Pipecat reported for the call, if any.
        to_response_dict: Pipecat's Gemini Live adapter's ``to_function_response_dict``.

    Returns:
        ``(body, problem)``: ``problem`` is None, or says why the value could not be sent
        (not JSON-serialisable; the body then carries the error instead).
    """
    if error:
        return {"error": error, "result": _jsonable(value)}, None
    try:
        json.dumps(value)
    except (TypeError, ValueError) as e:
        problem = f"result is not JSON-serialisable ({e})"
        return {"error": problem}, problem
    if value is None:
        return {"result": "COMPLETED"}, None
    return to_response_dict(value), None


def tool_response(
    call_id: str,
    function: str,
    body: dict,
    *,
    non_blocking: bool,
    final: bool = True,
    scheduling: str | None = None,
    force: bool = False,
) -> FunctionResponse | None:
    """The ``toolResponse`` entry for one result, or None when none is sent for it.

    A ``NON_BLOCKING`` function's response carries its ``scheduling`` (default ``WHEN_IDLE``)
    in the response and the field, and ``willContinue`` for an intermediate result. A blocking
    call takes one response, the final one (or a forced answer: a cancelled call).
    """
    response = FunctionResponse(id=call_id, name=function, response=body)
    if non_blocking:
        mode = scheduling or "WHEN_IDLE"
        response.response = {**body, "scheduling": mode}
        response.scheduling = FunctionResponseScheduling(mode)
        response.will_continue = not final
        return response
    if not final and not force:
        return None
    return response


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
