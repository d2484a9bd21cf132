"""Text the application types while the call holds its input for a move reaches the new session
exactly once (it went into the seed's history and again as a queued note before the fix)."""

from __future__ import annotations

import pytest
from pipecat.frames.frames import InputTextRawFrame, LLMMessagesAppendFrame

from pipecat_gemini_live import PersonaUpdateFrame
from gemini_live_emulator import EmulatorConfig, LiveEmulator

from ..conftest import build_call
from .call_helpers import run_call

MODELS = {
    "2.5": "gemini-2.5-flash-native-audio-preview-09-2025",
    "3.1": "gemini-3.1-flash-live-preview",
    "3.8": "gemini-3.8-live",
}
TYPED = "What do owls eat at night?"
APPENDED = "Tell me a joke about herons."


def occurrences(record, text: str) -> int:
    """How many times ``text`` reached a connection: realtime text and clientContent turns."""
    in_turns = sum(
        part.get("text") == text
        for content in record.client_content
        for turn in content["turns"]
        for part in ([turn] if "text" in turn else turn.get("parts", []))
    )
    return record.texts.count(text) + in_turns


@pytest.mark.parametrize("profile", sorted(MODELS))
async def test_text_typed_during_a_hold_reaches_the_new_session_once(tmp_path, profile):
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 4.0])
    # The new session is slow to set up: the text arrives while the call holds its input.
    config = EmulatorConfig(think_ms=100, pace=2.0, faults=["slow_setup:1.0#1"])
    async with LiveEmulator(config) as emu:
        result = await run_call(
            emu, wav, tmp_path / "out.wav", model=MODELS[profile],
            at=[
                # A new voice: every profile needs a new session for it (no contextUpdate).
                (1.0, PersonaUpdateFrame(system_instruction="You are a naturalist.", voice="Puck")),
                (1.3, InputTextRawFrame(text=TYPED)),
                (1.4, LLMMessagesAppendFrame(messages=[{"role": "user", "content": APPENDED}], run_llm=True)),
            ],
        )  # fmt: skip
        records = list(emu.records)
    svc = result.service
    (switch,) = [s for s in svc.handover.records if s.reason == "persona"]
    assert switch.ok, switch.error
    old, new = records[0], records[1]
    assert occurrences(old, TYPED) == 0 and occurrences(old, APPENDED) == 0
    assert occurrences(new, TYPED) == 1, (new.texts, new.client_content)
    assert occurrences(new, APPENDED) == 1, (new.texts, new.client_content)
