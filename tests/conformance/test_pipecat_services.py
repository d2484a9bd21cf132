"""Pipecat's built-in Gemini Live service and ours, same call, same emulator settings.

Both run in a real pipeline (``pipecat_calls.py``) on real recorded speech, side by side. What
must be the same: the setups are accepted, every reply the emulator gave reaches the pipeline
as audio and text, tool calls are answered with the handler's result. What differs, and is
asserted as such: at a normal end of call ours closes the session with 1000 (normal closure),
the built-in with 1011 (internal error: it cancels its receive task inside the SDK's
``async with`` connection, and websockets closes a connection left by an exception with 1011).
"""

from __future__ import annotations

import asyncio

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService as BuiltInService

from pipecat_gemini_live import GeminiLiveLLMService as OurService
from gemini_live_emulator import EmulatorConfig, LiveEmulator

from ..conftest import build_call
from .pipecat_calls import run_service_call

MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"
MODEL_31 = "gemini-3.1-flash-live-preview"
PERSONA = "You are the pipeline persona."
CLOSE_AT_HANG_UP = {"builtin": 1011, "ours": 1000}
WEATHER = FunctionSchema(
    name="get_weather",
    description="The weather in a city.",
    properties={"city": {"type": "string"}},
    required=["city"],
)


def make_service(kind: str, emu: LiveEmulator, model: str, **kwargs):
    if kind == "builtin":
        return BuiltInService(
            api_key=emu.api_key,
            http_options=emu.http_options(),
            system_instruction=PERSONA,
            settings=BuiltInService.Settings(model=model),
            **kwargs,
        )
    return OurService(api_key=emu.api_key, http_options=emu.http_options(), system_instruction=PERSONA, model=model, **kwargs)


async def run_both(tmp_path, wav, config: EmulatorConfig, model: str = MODEL, **service_kwargs):
    """The same call through both services at once, each against its own emulator."""

    async def one(kind):
        async with LiveEmulator(config.model_copy(deep=True)) as emu:
            service = make_service(kind, emu, model, **service_kwargs)
            if service_kwargs.get("tools"):
                async def get_weather(params):
                    await params.result_callback({"temp_c": 21, "city": params.arguments["city"]})

                service.register_function("get_weather", get_weather)
            call = await run_service_call(service, wav, tmp_path / f"{kind}.wav")
            await emu.wait_closed(timeout=5)
            return kind, call, emu

    return {kind: (call, emu) for kind, call, emu in await asyncio.gather(one("builtin"), one("ours"))}


@pytest.mark.parametrize("model", [MODEL, MODEL_31])
async def test_same_call_same_protocol_but_the_hang_up_code(tmp_path, model):
    """Two audio turns; on 3.1 neither service may trip the clientContent rule (1007)."""
    wav = build_call(tmp_path / "call.wav", [0.4, "cards_001.wav", 3.6, "cards_003.wav", 2.0])
    runs = await run_both(tmp_path, wav, EmulatorConfig(think_ms=100, pace=3), model)
    replies = {}
    for kind, (call, emu) in runs.items():
        assert call.errors == [], (kind, call.errors)
        (record,) = emu.records  # one session for the whole call
        assert record.auth == "api_key" and record.model == f"models/{model}"
        assert [r.interrupted for r in record.replies] == [False, False]
        # What the emulator said is what reached the pipeline, word for word and byte for byte.
        assert call.tap.text == "".join(r.text for r in record.replies)
        assert abs(call.tap.audio_bytes - sum(r.audio_s * 48000 for r in record.replies)) <= 4
        replies[kind] = [r.text for r in record.replies]
        assert record.close_code == CLOSE_AT_HANG_UP[kind], (kind, record.close_code)
    assert replies["builtin"] == replies["ours"]
    assert "no earlier turns" in replies["ours"][0] and "two earlier turns" in replies["ours"][1]


async def test_tool_call_is_answered_with_the_handlers_result(tmp_path):
    wav = build_call(tmp_path / "call.wav", [0.4, "cards_001.wav", 3.0])
    config = EmulatorConfig(think_ms=100, pace=3, scenario=['1:get_weather{"city": "Paris"}'])
    runs = await run_both(tmp_path, wav, config, tools=ToolsSchema(standard_tools=[WEATHER]))
    for kind, (call, emu) in runs.items():
        assert call.errors == [], (kind, call.errors)
        record = emu.records[0]
        (tool_call,) = record.tool_calls
        (response,) = record.tool_responses
        assert response["id"] == tool_call["id"] and response["name"] == "get_weather", kind
        assert response["response"] == {"temp_c": 21, "city": "Paris"}, (kind, response)
        assert 'get_weather returned {"temp_c":21,"city":"Paris"}' in call.tap.text, kind



def answered(emu: LiveEmulator) -> list[str]:
    return [r.text for record in emu.records for r in record.replies if not r.interrupted]


async def test_go_away_then_the_lifetime_close_both_carry_the_conversation_over(tmp_path):
    """goAway 1 s before each connection's 6 s lifetime ends with 1000: the built-in ignores
    goAway and reconnects after the close with its resumption handle; ours moves the call on
    goAway. Either way the next connection resumes and the model remembers the first turn."""
    wav = build_call(tmp_path / "call.wav", [0.4, "cards_001.wav", 5.5, "cards_003.wav", 1.0])
    config = EmulatorConfig(think_ms=100, pace=6, lifetime_s=6, goaway_before_s=1)
    runs = await run_both(tmp_path, wav, config)
    for kind, (call, emu) in runs.items():
        assert call.errors == [], (kind, call.errors)
        first, second = emu.records[:2]
        assert "go_away_at" in first.extra and first.close_code == 1000, kind
        assert second.resumed_from is not None, kind
        replies = answered(emu)
        assert len(replies) == 2, (kind, replies)
        assert "no earlier turns" in replies[0] and "two earlier turns" in replies[1], (kind, replies)


async def test_a_1011_mid_reply_is_retried_with_the_resumption_handle(tmp_path):
    """1011 is retryable: both services reconnect, resume, and answer the next turn."""
    wav = build_call(tmp_path / "call.wav", [0.4, "cards_001.wav", 4.0, "cards_003.wav", 1.5])
    config = EmulatorConfig(think_ms=100, pace=3, faults=["close:1011@reply#0"])
    runs = await run_both(tmp_path, wav, config)
    for kind, (call, emu) in runs.items():
        first, second = emu.records[:2]
        assert first.server_close_code == 1011, kind
        assert second.resumed_from is not None, kind
        assert any("I heard you for 1.4 seconds" in text for text in answered(emu)), (kind, answered(emu))


def _call_with_a_tone(path) -> "Path":
    """A 0.9 s 440 Hz tone (no words in it), then a spoken sentence."""
    import numpy as np
    import soundfile as sf

    from ..conftest import speech

    rate = 16000
    t = np.arange(int(0.9 * rate)) / rate
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    quiet = lambda s: np.zeros(int(s * rate), dtype=np.int16)  # noqa: E731
    # The built-in service drops caller audio until its session is up: the tone waits 3 s. The
    # sentence waits 8 s more: the recogniser (another process) may take seconds to hear the
    # tone out on a loaded machine, and speech before that would continue the tone's turn.
    audio = np.concatenate([quiet(3.0), tone, quiet(8.0), speech("cards_005.wav"), quiet(3.0)])
    sf.write(str(path), audio, rate, subtype="PCM_16")
    return path


@pytest.mark.asr
async def test_voice_activity_and_a_turn_that_waits_for_input_break_neither_service(tmp_path):
    """The fields the SDK types document beyond replies: ``voiceActivity`` (3.1 as of 2026-09)
    around each caller utterance, and a turn with no words ending in ``waitingForInput`` with
    ``turnCompleteReason: NEED_MORE_INPUT`` and no reply. Both services carry on: no error,
    one session, and the sentence after the tone is answered."""
    wav = _call_with_a_tone(tmp_path / "call.wav")
    config = EmulatorConfig(
        think_ms=100, pace=3, unheard_turns="wait", listen_timeout_s=20.0,
        model_behaviours={"gemini-3.1-*": "3.1@2026-09"},
    )
    runs = await run_both(tmp_path, wav, config, MODEL_31)
    for kind, (call, emu) in runs.items():
        assert call.errors == [], (kind, call.errors)
        (record,) = emu.records
        assert call.tap.text == "".join(r.text for r in record.replies), kind
        assert record.extra.get("waited_for_input") == 1, (kind, record.extra, record.replies)
        (reply,) = record.replies
        assert "You said" in reply.text and "no earlier turns" in reply.text, (kind, reply.text)
