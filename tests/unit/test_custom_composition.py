"""The custom composition's own processors, with Pipecat's run_test."""

from __future__ import annotations

import json

import pytest
from pipecat.frames.frames import TextType, TranscriptionFrame, TTSStartedFrame, TTSStoppedFrame, TTSTextFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.tests.utils import run_test

from pipecat_gemini_live import PersonaUpdateFrame
from pipecat_gemini_live.apps.bots import PersonaBook, TranscriptEvent
from pipelines.custom_composition import KeywordPersonaSwitcher, KeywordRule, TranscriptLog, TranscriptLogger

BOOK = PersonaBook()


def caller(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text=text, user_id="", timestamp="now")


def reply(*words: str) -> list:
    return [TTSStartedFrame(), *(TTSTextFrame(w, text_type=TextType.WORD) for w in words), TTSStoppedFrame()]


async def test_caller_words_switch_downstream_toward_the_service():
    rules = [KeywordRule("pirate", "pirate"), KeywordRule("front desk", "concierge")]
    frames = [
        caller("the weather please"),
        caller("Put me through to the PIRATE!"),
        caller("pirate again"),
        caller("the front   desk"),
    ]
    down, up = await run_test(
        KeywordPersonaSwitcher(rules, BOOK), frames_to_send=frames, frames_to_send_direction=FrameDirection.UPSTREAM
    )
    updates = [f for f in down if isinstance(f, PersonaUpdateFrame)]
    # Each rule fires once, in the order the caller asked; the transcripts still go upstream.
    assert [u.system_instruction for u in updates] == [
        BOOK.get("pirate").system_instruction,
        BOOK.get("concierge").system_instruction,
    ]
    assert len([f for f in up if isinstance(f, TranscriptionFrame)]) == 4
    assert all(r.fired for r in rules)


async def test_bot_words_switch_upstream_after_the_reply():
    rules = [KeywordRule("transfer you to the concierge", "concierge", speaker="bot"), KeywordRule("pirate", "pirate")]
    frames = reply("Let me ", "transfer ", "you ") + reply("Let me ", "transfer ", "you ", "to the ", "concierge.")
    down, up = await run_test(KeywordPersonaSwitcher(rules, BOOK), frames_to_send=frames)
    (update,) = [f for f in up if isinstance(f, PersonaUpdateFrame)]
    assert update.system_instruction == BOOK.get("concierge").system_instruction
    assert not [f for f in down if isinstance(f, PersonaUpdateFrame)]
    assert not rules[1].fired  # a caller rule is not triggered by the bot saying its words


def test_rules_are_checked():
    assert KeywordRule.parse("front desk = concierge", "caller") == KeywordRule("front desk", "concierge")
    with pytest.raises(ValueError, match="expected WORDS=PERSONA"):
        KeywordRule.parse("pirate", "caller")
    with pytest.raises(ValueError, match="needs words and a persona"):
        KeywordRule.parse("=pirate", "bot")
    with pytest.raises(ValueError, match="speaker must be"):
        KeywordRule("hi", "pirate", speaker="narrator")
    with pytest.raises(KeyError, match="unknown persona 'wizard'"):
        KeywordPersonaSwitcher([KeywordRule("magic", "wizard")], BOOK)
    rule = KeywordRule("transfer you", "concierge", speaker="bot")
    assert rule.matches("bot", "I'll Transfer You now") and not rule.matches("bot", "transferring you")
    assert not rule.matches("caller", "transfer you")


async def test_logger_writes_finished_turns(tmp_path):
    log = TranscriptLog(tmp_path / "t.jsonl")
    frames = reply("Hello ", "there.")
    await run_test(TranscriptLogger(log), frames_to_send=frames)
    await run_test(
        TranscriptLogger(log), frames_to_send=[caller("hi bot")], frames_to_send_direction=FrameDirection.UPSTREAM
    )
    assert [(t["role"], t["text"]) for t in log.turns] == [("bot", "Hello there."), ("user", "hi bot")]
    lines = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert lines == log.turns
    log.add(TranscriptEvent("bot", "cut", final=True, interrupted=True))
    assert log.turns[-1]["interrupted"] is True
