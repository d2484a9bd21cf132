"""Pipecat's standard frames drive the service: settings, context, messages, appended turns."""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import (
    LLMContextFrame,
    LLMMessagesAppendFrame,
    LLMMessagesUpdateFrame,
    LLMUpdateSettingsFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.google.gemini_live.llm import GeminiLiveLLMSettings

from gemini_live_emulator import EmulatorConfig, LiveEmulator

from ..conftest import build_call
from .call_helpers import run_call

M25 = "gemini-2.5-flash-native-audio-preview-09-2025"
M31 = "gemini-3.1-flash-live-preview"
M38 = "gemini-3.8-live"


async def call(tmp_path, name, model, at, parts=None, **kw):
    wav = build_call(tmp_path / f"{name}.wav", parts or [2.5, "cards_001.wav", 3.0])
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=3.0)) as emu:
        result = await run_call(emu, wav, tmp_path / f"{name}-out.wav", model=model, at=at, **kw)
        await asyncio.sleep(0.1)
        return result, list(emu.records)


async def test_update_settings_changes_persona_and_model(tmp_path):
    (persona, rec_p), (model, rec_m) = await asyncio.gather(
        call(tmp_path, "si", M38, [(1.0, LLMUpdateSettingsFrame(delta=GeminiLiveLLMSettings(system_instruction="You are a sommelier.")))]),
        call(tmp_path, "model", M25, [(1.0, LLMUpdateSettingsFrame(delta=GeminiLiveLLMSettings(model="gemini-3.1-flash-live-preview")))]),
    )
    (reply,) = persona.service.replies
    assert reply.text.startswith("You are a sommelier")
    assert [s.method for s in persona.service.handover.records if s.reason == "settings"] == ["context_update"]
    assert rec_p[0].context_updates and len(rec_p) == 1
    # A new model needs a new session, set up for that model's profile.
    assert [r.model for r in rec_m] == [f"models/{M25}", f"models/{M31}"]
    assert model.service.profile.name == "gemini-3.1-live" and model.service.replies


async def test_a_changed_system_message_is_a_persona_change(tmp_path):
    update = LLMMessagesUpdateFrame(messages=[{"role": "system", "content": "You are a tour guide."}])
    context = LLMContext(messages=[{"role": "system", "content": "You are a pilot."}])
    (by_update, _), (by_context, _) = await asyncio.gather(
        call(tmp_path, "upd", M25, [(1.0, update)]),
        call(tmp_path, "ctx", M25, [(0.5, LLMContextFrame(context=LLMContext())), (1.0, LLMContextFrame(context=context))]),
    )
    assert by_update.service.replies[0].text.startswith("You are a tour guide")
    assert by_context.service.replies[0].text.startswith("You are a pilot")


async def test_an_opening_context_makes_the_bot_speak_first_on_every_profile(tmp_path):
    opening = LLMContext(messages=[{"role": "user", "content": "Greet the caller."}])
    results = await asyncio.gather(
        *(call(tmp_path, f"open{i}", model, [(0.0, LLMContextFrame(context=opening))], parts=[4.0]) for i, model in enumerate((M25, M31, M38)))
    )
    for (result, records), model in zip(results, (M25, M31, M38)):
        (reply,) = result.service.replies
        assert 'You wrote: "Greet the caller."' in reply.text, (model, reply.text)
        assert all(r.server_close_code is None for r in records), model


async def test_appended_messages_take_the_form_each_profile_accepts(tmp_path):
    append = LLMMessagesAppendFrame(messages=[{"role": "user", "content": "Tell me a joke."}], run_llm=True)
    results = await asyncio.gather(
        *(call(tmp_path, f"app{i}", model, [(1.0, append)], parts=[0.3, "cards_001.wav", 4.0]) for i, model in enumerate((M25, M31, M38)))
    )
    for (result, records), model in zip(results, (M25, M31, M38)):
        (record,) = records
        if model == M31:
            assert record.texts == ["Tell me a joke."] and not record.client_content  # 1007 otherwise
        else:
            assert record.client_content[-1]["turns"][-1]["text"] == "Tell me a joke."
        assert record.server_close_code is None, model
        assert any('You wrote: "Tell me a joke."' in r.text for r in result.service.replies), model
