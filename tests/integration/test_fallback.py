"""Model fallback: a refused model gives way to the next one, which brings its own profile."""

from __future__ import annotations

from gemini_live_emulator import EmulatorConfig, LiveEmulator

from ..conftest import build_call
from .call_helpers import run_call

M31 = "gemini-3.1-flash-live-preview"


async def test_an_unknown_model_falls_back_to_the_next_one(tmp_path):
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 3.0])
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=2.0)) as emu:
        result = await run_call(
            emu, wav, tmp_path / "out.wav", model="text-bison-001", fallback_models=["chat-bison-002", M31],
            system_instruction="You are a fallback.",
        )
        await emu.wait_closed(timeout=5)
        records = list(emu.records)
    svc = result.service
    # Two refused setups (one round trip each), then the call runs on 3.1 with 3.1's setup.
    assert [r.close_code for r in records][:2] == [1008, 1008]
    assert records[-1].model == f"models/{M31}" and "historyConfig" in records[-1].setup
    (start,) = [s for s in svc.handover.records if s.reason == "start"]
    assert start.ok and start.fallbacks == ["text-bison-001 -> chat-bison-002", f"chat-bison-002 -> {M31}"]
    assert svc.session is None and svc.profile.name == "gemini-3.1-live"
    assert svc.replies and svc.replies[0].text.startswith("You are a fallback")
    assert result.errors == []


async def test_a_bad_key_is_not_a_reason_to_fall_back(tmp_path):
    wav = build_call(tmp_path / "in.wav", [1.0])
    async with LiveEmulator(EmulatorConfig(think_ms=100)) as emu:
        result = await run_call(emu, wav, tmp_path / "out.wav", model=M31, api_key="wrong", fallback_models=["gemini-3.8-live"])
        records = list(emu.records)
    assert len(records) == 1 and any("1008" in e for e in result.errors)
