"""The bots' processors and message protocol, with Pipecat's run_test (no transport, no network)."""

from __future__ import annotations

import pytest
from pipecat.frames.frames import (
    InputTransportMessageFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
    TextFrame,
    TextType,
    TranscriptionFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.tests.utils import SleepFrame, run_test

from pipecat_gemini_live import PersonaUpdateFrame
from pipecat_gemini_live.apps.bots import (
    Persona,
    PersonaBook,
    PersonaMessageSwitcher,
    TranscriptMessenger,
    TranscriptWatcher,
    messages,
)

L = messages.MESSAGE_LABEL


def persona_msg(name):
    return InputTransportMessageFrame(message={"label": L, "type": "persona", "name": name})


async def test_persona_message_becomes_update_frame():
    book = PersonaBook()
    switcher = PersonaMessageSwitcher(book)
    down, _ = await run_test(switcher, frames_to_send=[persona_msg("pirate")])
    (update,) = [f for f in down if isinstance(f, PersonaUpdateFrame)]
    assert update.system_instruction == book.get("pirate").system_instruction
    assert update.voice == "Puck"
    assert not [f for f in down if isinstance(f, InputTransportMessageFrame)]  # consumed
    assert switcher.requests == 1 and switcher.last_request.name == "pirate"


@pytest.mark.parametrize(
    "message, error",
    [
        (
            {"label": L, "type": "persona", "name": "wizard"},
            "unknown persona 'wizard'; known: assistant, pirate, concierge",
        ),
        ({"label": L, "type": "persona"}, "needs a non-empty string 'name'"),
        ({"label": L, "type": "persona", "name": 3}, "needs a non-empty string 'name'"),
        ({"label": L, "type": "dance"}, "unknown message type 'dance'"),
    ],
)
async def test_bad_persona_messages_are_answered_with_an_error(message, error):
    switcher = PersonaMessageSwitcher(PersonaBook())
    down, _ = await run_test(switcher, frames_to_send=[InputTransportMessageFrame(message=message)])
    assert not [f for f in down if isinstance(f, PersonaUpdateFrame)]
    (reply,) = [f for f in down if isinstance(f, OutputTransportMessageUrgentFrame)]
    assert reply.message["type"] == "error" and error in reply.message["error"]
    assert switcher.refused == 1


async def test_other_messages_and_frames_pass_untouched():
    others = [
        InputTransportMessageFrame(message={"label": "rtvi-ai", "type": "client-ready"}),
        InputTransportMessageFrame(message="plain text"),
        TextFrame("hello"),
    ]
    down, _ = await run_test(PersonaMessageSwitcher(PersonaBook()), frames_to_send=others)
    assert [type(f) for f in down] == [InputTransportMessageFrame, InputTransportMessageFrame, TextFrame]
    assert [getattr(f, "message", None) for f in down[:2]] == [others[0].message, "plain text"]


def test_persona_book_rules():
    with pytest.raises(ValueError, match="at least one"):
        PersonaBook([])
    with pytest.raises(ValueError, match="duplicate"):
        PersonaBook([Persona("a", "A", "x"), Persona("a", "B", "y")])
    with pytest.raises(ValueError, match="needs a name and a system instruction"):
        PersonaBook([Persona("a", "A", "  ")])
    book = PersonaBook([Persona("a", "A", "Be A."), Persona("b", "B", "Be B.")])
    assert book.first.name == "a" and book.names == ["a", "b"]
    assert book.by_instruction("Be B.").name == "b" and book.by_instruction("other") is None
    assert book.public() == [{"name": "a", "title": "A"}, {"name": "b", "title": "B"}]
    with pytest.raises(KeyError, match="unknown persona 'c'; known: a, b"):
        book.get("c")


def test_transcript_message_rejects_unknown_roles():
    with pytest.raises(ValueError, match="role must be"):
        messages.transcript("narrator", "hi", final=True)


async def test_transcript_messenger_after_the_service_sends_the_bot_reply():
    # As the service sends them: a whole reply, then one cut by a barge-in. (Sleeps keep the
    # arrival order; a system frame would otherwise overtake the queued ones.)
    frames = [
        TTSStartedFrame(),
        LLMFullResponseStartFrame(),
        TTSTextFrame("Ahoy ", text_type=TextType.WORD),
        TTSTextFrame("there.", text_type=TextType.WORD),
        TTSStoppedFrame(),
        LLMFullResponseEndFrame(),
        TTSStartedFrame(),
        TTSTextFrame("Cut ", text_type=TextType.WORD),
        SleepFrame(0.05),
        InterruptionFrame(),
        SleepFrame(0.05),
        TTSStoppedFrame(),
    ]
    down, _ = await run_test(TranscriptMessenger(), frames_to_send=frames)
    sent = [f.message for f in down if isinstance(f, OutputTransportMessageFrame)]
    assert [(m["role"], m["text"], m["final"], m["interrupted"]) for m in sent] == [
        ("bot", "Ahoy ", False, False),
        ("bot", "there.", False, False),
        ("bot", "Ahoy there.", True, False),
        ("bot", "Cut ", False, False),
        ("bot", "Cut", True, True),
    ]
    # Every original frame still passes on.
    assert sum(isinstance(f, TTSTextFrame) for f in down) == 3


async def test_transcript_messenger_whole_turns_only():
    frames = [
        TTSStartedFrame(),
        TTSTextFrame("Hello ", text_type=TextType.WORD),
        TTSTextFrame("you.", text_type=TextType.WORD),
        TTSStoppedFrame(),
        LLMFullResponseEndFrame(),
    ]
    down, _ = await run_test(TranscriptMessenger(send_partial=False), frames_to_send=frames)
    sent = [f.message for f in down if isinstance(f, OutputTransportMessageFrame)]
    assert sent == [messages.transcript("bot", "Hello you.", final=True)]


async def test_a_reply_that_never_closed_is_reported_as_cut():
    # The interruption overtook the reply's frames and the stop was dropped behind it: the
    # next reply's start closes the old one.
    frames = [
        TTSStartedFrame(),
        TTSTextFrame("Lost ", text_type=TextType.WORD),
        TTSStartedFrame(),
        TTSTextFrame("New.", text_type=TextType.WORD),
        TTSStoppedFrame(),
    ]
    down, _ = await run_test(TranscriptMessenger(send_partial=False), frames_to_send=frames)
    sent = [f.message for f in down if isinstance(f, OutputTransportMessageFrame)]
    assert sent == [
        messages.transcript("bot", "Lost", final=True, interrupted=True),
        messages.transcript("bot", "New.", final=True),
    ]


async def test_transcript_messenger_before_the_service_sends_caller_turns():
    # The service pushes the caller's transcript upstream; the messenger passes it on upstream
    # (the user aggregator needs it) and sends the message downstream, toward the output.
    frames = [
        TranscriptionFrame(text="  what time is it  ", user_id="", timestamp="now"),
        TranscriptionFrame(text=" ", user_id="", timestamp="now"),
    ]
    down, up = await run_test(
        TranscriptMessenger(), frames_to_send=frames, frames_to_send_direction=FrameDirection.UPSTREAM
    )
    assert [f.text for f in up if isinstance(f, TranscriptionFrame)] == ["  what time is it  ", " "]
    sent = [f.message for f in down if isinstance(f, OutputTransportMessageFrame)]
    assert sent == [messages.transcript("user", "what time is it", final=True)]


async def test_watcher_needs_a_handler():
    with pytest.raises(NotImplementedError):
        await TranscriptWatcher().on_transcript(None)
