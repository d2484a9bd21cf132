"""Switches at moments the other tests did not choose: during a reply, just before the caller speaks.

Each test names the fault it pins down (found by trying the main job as a user would, and by the
timeline explorer). What is checked comes from the emulator's records and the service's replies.
"""

from __future__ import annotations

import asyncio

import pytest
from pipecat.frames.frames import LLMUpdateSettingsFrame

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from pipecat_gemini_live import GeminiLiveLLMService, PersonaUpdateFrame

from ..conftest import build_call
from .call_helpers import run_call

MODELS = ["gemini-2.5-flash-native-audio-preview-12-2025", "gemini-3.1-flash-live-preview", "gemini-3.8-live"]


def answered(result) -> list:
    return [r for r in result.service.replies if not r.interrupted]


@pytest.mark.parametrize("model", MODELS)
async def test_a_switch_that_cuts_a_reply_leaves_the_next_session_able_to_answer(tmp_path, model):
    """The switch cut turn 1's reply; the caller's next turn must be answered by the new persona.

    Once, the cut reply's suppression outlived the session it was for, and the new session's
    whole first reply was dropped (the caller heard nothing until the next switch).
    """
    wav = build_call(tmp_path / "in.wav", [0.4, "cards_001.wav", 1.2, 0.8, "cards_003.wav", 3.0])
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=1.0)) as emu:
        # Turn 1 ends about 1.3 s in; its reply starts about 1.5 s and lasts several seconds.
        result = await run_call(
            emu, wav, tmp_path / "out.wav", model=model,
            at=[(2.0, PersonaUpdateFrame(system_instruction="You are a pirate."))],
        )
        await emu.wait_closed(timeout=5)
        records = list(emu.records)
    replies = result.service.replies
    assert replies[0].interrupted, "the switch cut the reply in progress"
    (second,) = answered(result)
    assert second.text.startswith("You are a pirate"), second.text
    # What the caller heard is what the new session said on the wire.
    assert any(r.text.startswith("You are a pirate") and not r.interrupted for r in records[-1].replies)


@pytest.mark.parametrize("model", MODELS[:2])
async def test_a_settings_change_mid_reply_does_not_cost_the_next_turn(tmp_path, model):
    """``LLMUpdateSettingsFrame(temperature)`` as Pipecat's examples send it, during a reply."""
    # Turn 1's reply (about 5 s) is over before turn 2 starts, so no barge-in cuts it.
    wav = build_call(tmp_path / "in.wav", [0.4, "cards_001.wav", 7.0, "cards_003.wav", 3.0])
    change = LLMUpdateSettingsFrame(delta=GeminiLiveLLMService.Settings(temperature=0.1))
    async with LiveEmulator(EmulatorConfig(think_ms=100)) as emu:
        result = await run_call(emu, wav, tmp_path / "out.wav", model=model, at=[(2.0, change)])
        await emu.wait_closed(timeout=5)
        records = list(emu.records)
    # A generation setting is not a persona change: the reply in progress is not cut.
    assert [r.interrupted for r in result.service.replies] == [False, False]
    assert records[-1].setup["generationConfig"]["temperature"] == pytest.approx(0.1)
    assert all(r.closed for r in records)


@pytest.mark.parametrize(
    "fault, switch_at, hang_up",
    [
        ("slow_setup:3#0", None, "end"),  # the first session is still opening
        ("slow_setup:3#1", 1.0, "cancel"),  # a persona switch's session is still opening
    ],
)
async def test_a_hang_up_while_a_session_opens_leaves_no_connection_open(tmp_path, fault, switch_at, hang_up):
    """The opening was cancelled by the hang-up, the connect completed anyway and nobody closed
    it: a Live session (billed, against Gemini) that outlived its call."""
    from pipecat.frames.frames import CancelFrame, EndFrame

    wav = build_call(tmp_path / "in.wav", [0.4, "cards_001.wav", 3.0])
    at = [] if switch_at is None else [(switch_at, PersonaUpdateFrame(system_instruction="You are a pirate."))]
    at.append(((switch_at or 0.0) + 0.5, EndFrame() if hang_up == "end" else CancelFrame()))
    async with LiveEmulator(EmulatorConfig(think_ms=100, faults=[fault])) as emu:
        result = await run_call(emu, wav, tmp_path / "out.wav", model=MODELS[0], at=at)
        # The slow setup completes 3 s after its connect; by then the connection must be gone.
        await asyncio.sleep(3.5)
        records = list(emu.records)
        leftover = [t.get_name() for t in asyncio.all_tasks() if "live-session" in t.get_name() and not t.done()]
    assert len(records) == (1 if switch_at is None else 2)
    assert all(r.closed for r in records), [(r.index, r.closed) for r in records]
    assert leftover == []
    assert result.service.session is None


@pytest.mark.parametrize("delay_s", [0.0, 0.5])
@pytest.mark.parametrize("model", MODELS)
async def test_a_key_pressed_as_the_reply_ends_before_a_pending_settings_change_is_answered(tmp_path, model, delay_s):
    """Found by Pipecat's evals harness (evals/scenarios/dtmf_greeted.yaml): a settings change
    made during a reply waits for that reply to end, then moves the call; a phone key pressed as
    the reply ended went to the session being left, which never answered it, and the new
    session was seeded with it but not asked to answer. Nothing was logged."""
    from pipecat.audio.dtmf.types import KeypadEntry
    from pipecat.frames.frames import InputDTMFFrame

    wav = build_call(tmp_path / "in.wav", [0.4, "cards_001.wav", 9.0])
    change = LLMUpdateSettingsFrame(delta=GeminiLiveLLMService.Settings(temperature=0.1))
    async with LiveEmulator(EmulatorConfig(think_ms=100)) as emu:
        service = GeminiLiveLLMService(
            api_key=emu.api_key, http_options=emu.http_options(), model=model
        )
        pressed: list[bool] = []

        @service.event_handler("on_reply_finished")
        async def _press(_service, _reply):
            if not pressed:
                pressed.append(True)
                await asyncio.sleep(delay_s)
                await service.queue_frame(InputDTMFFrame(button=KeypadEntry.ONE))

        result = await run_call(emu, wav, tmp_path / "out.wav", service=service, at=[(2.0, change)])
        await emu.wait_closed(timeout=5)
        records = list(emu.records)
    assert pressed
    assert records[-1].setup["generationConfig"]["temperature"] == pytest.approx(0.1)
    heard = [r.text for r in result.service.replies]
    assert any("pressed the 1 key" in t for t in heard), heard
