"""Tools, barge-in with RTVI, phone keys and frames a Live session cannot serve."""

from __future__ import annotations

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import FunctionCallResultProperties, InputDTMFFrame, TTSSpeakFrame
from pipecat.services.llm_service import FunctionCallParams

from gemini_live_emulator import EmulatorConfig, LiveEmulator

from ..conftest import build_call
from .harness import KINDS, MODELS, developer_greeting, run_parity_call

WEATHER = FunctionSchema(name="get_weather", description="Weather in a city.", properties={"city": {"type": "string"}}, required=["city"])
TIME = FunctionSchema(name="get_time", description="The time now.", properties={}, required=[])


async def get_weather(params: FunctionCallParams):
    await params.result_callback({"city": params.arguments.get("city"), "temp_c": 21})


async def get_time(params: FunctionCallParams):
    await params.result_callback({"time": "12:00"})


async def quiet_time(params: FunctionCallParams):
    await params.result_callback({"time": "12:00"}, properties=FunctionCallResultProperties(run_llm=False))


@pytest.mark.parametrize("kind", KINDS)
async def test_parallel_calls_are_each_answered_with_their_result(tmp_path, kind):
    wav = build_call(tmp_path / "in.wav", [0.4, "cards_001.wav", 5.0])
    config = EmulatorConfig(think_ms=100, pace=3.0, scenario=['1:get_weather{"city": "Paris"},get_time'])
    async with LiveEmulator(config) as emu:
        call = await run_parity_call(
            kind, emu, MODELS["2.5"], wav, tmp_path / "out.wav", on_start=[developer_greeting()],
            tools=ToolsSchema(standard_tools=[WEATHER, TIME]), functions={"get_weather": get_weather, "get_time": get_time},
        )
        await emu.wait_closed(timeout=5)
        (record,) = emu.records
    by_id = {r["id"]: r for r in record.tool_responses}
    assert sorted(c["name"] for c in record.tool_calls) == ["get_time", "get_weather"]
    for tool_call in record.tool_calls:
        response = by_id[tool_call["id"]]["response"]
        assert ("temp_c" in str(response)) == (tool_call["name"] == "get_weather"), response
    # The calls and results are in the context afterwards (the aggregator wrote them).
    assert sum(1 for m in call.context.get_messages() if m.get("role") == "tool") == 2


async def test_a_result_with_run_llm_false_is_taken_in_silently(tmp_path):
    """Ours on 2.5 (NON_BLOCKING functions): ``run_llm=False`` answers with ``SILENT``."""
    wav = build_call(tmp_path / "in.wav", [0.4, "cards_001.wav", 5.0])
    config = EmulatorConfig(think_ms=100, pace=3.0, scenario=["1:get_time"])
    async with LiveEmulator(config) as emu:
        from pipecat_gemini_live import GeminiLiveLLMService

        service = GeminiLiveLLMService(api_key=emu.api_key, http_options=emu.http_options(), model=MODELS["2.5"], tools=ToolsSchema(standard_tools=[TIME]))
        service.register_function("get_time", quiet_time, cancel_on_interruption=False)
        await run_parity_call("ours", emu, MODELS["2.5"], wav, tmp_path / "out.wav", service=service)
        await emu.wait_closed(timeout=5)
        (record,) = emu.records
    (response,) = record.tool_responses
    assert response["scheduling"] == "SILENT", response


@pytest.mark.parametrize("kind", KINDS)
async def test_barge_in_with_rtvi_in_the_pipeline(tmp_path, kind):
    """The caller talks over a long reply: the reply stops (an interruption reaches the output)
    with RTVI's observer and processor in the pipeline, and the new turn is answered."""
    wav = build_call(tmp_path / "in.wav", [0.4, "cards_001.wav", 1.2, "cards_003.wav", 4.0])
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=1.0)) as emu:
        call = await run_parity_call(
            kind, emu, MODELS["2.5"], wav, tmp_path / "out.wav", on_start=[developer_greeting()], rtvi=True
        )
        await emu.wait_closed(timeout=5)
        (record,) = emu.records
    assert any(r.interrupted for r in record.replies)
    assert not record.replies[-1].interrupted and "heard you" in record.replies[-1].text
    assert call.errors == []


@pytest.mark.parametrize("kind", KINDS)
async def test_a_phone_key_reaches_the_model(emu, tmp_path, kind):
    """``InputDTMFFrame`` (a caller pressing 5 in a phone menu): ours tells the model as the
    caller's text and the model answers; the built-in passes it by."""
    wav = build_call(tmp_path / "in.wav", [4.0])
    call = await run_parity_call(
        kind, emu, MODELS["3.1"], wav, tmp_path / "out.wav", on_start=[developer_greeting()],
        at=[(2.0, InputDTMFFrame(button=KeypadEntry.FIVE))],
    )
    await emu.wait_closed(timeout=5)
    # Ours tries the opening as clientContent on 3.1 (its reports conflict); the emulator's 3.1
    # refuses it (1007), and the call goes on in a fresh session (docs/model-rules.md).
    codes = [r.server_close_code for r in emu.records]
    assert codes == ([1007, None] if kind == "ours" else [None]), codes
    record = emu.records[-1]
    pressed = [t for t in record.texts if "pressed the 5 key" in t]
    assert bool(pressed) == (kind == "ours"), record.texts


async def test_a_frame_the_live_api_cannot_serve_is_named_in_the_log(emu, tmp_path, caplog):
    from loguru import logger

    seen: list[str] = []
    sink = logger.add(lambda m: seen.append(str(m)), level="WARNING")
    try:
        wav = build_call(tmp_path / "in.wav", [2.0])
        await run_parity_call("ours", emu, MODELS["2.5"], wav, tmp_path / "out.wav", at=[(0.5, TTSSpeakFrame("Hello")), (0.7, TTSSpeakFrame("Again"))])
    finally:
        logger.remove(sink)
    warnings = [m for m in seen if "TTSSpeakFrame cannot be served" in m]
    assert len(warnings) == 1, seen


@pytest.mark.parametrize("kind", KINDS)
async def test_with_a_local_vad_in_the_user_aggregator(emu, two_turns, tmp_path, kind):
    """Pipecat's examples offer a Silero VAD in the user aggregator for supplemental turn
    frames (server VAD still decides): both services answer both turns."""
    call = await run_parity_call(
        kind, emu, MODELS["2.5"], two_turns, tmp_path / "out.wav", on_start=[developer_greeting()], local_vad=True
    )
    await emu.wait_closed(timeout=5)
    (record,) = emu.records
    assert sum("heard you" in r.text for r in record.replies) == 2, [r.text for r in record.replies]
    assert call.errors == []


async def test_muting_the_caller_stops_their_audio(emu, tmp_path):
    """``STTMuteFrame(mute=True)``: this service is the pipeline's speech recogniser, so the
    caller's audio stops reaching the session until it is unmuted."""
    from pipecat.frames.frames import STTMuteFrame

    wav = build_call(tmp_path / "in.wav", [0.4, "cards_001.wav", 2.0, "cards_003.wav", 3.0])
    await run_parity_call(
        "ours", emu, MODELS["2.5"], wav, tmp_path / "out.wav",
        at=[(2.0, STTMuteFrame(mute=True)), (5.0, STTMuteFrame(mute=False))],
    )
    await emu.wait_closed(timeout=5)
    (record,) = emu.records
    # The second turn (about 3.3-4.7 s) fell in the muted stretch: it was never heard.
    assert [r.text for r in record.replies if "heard you" in r.text] and len(record.replies) == 1
    assert record.audio_bytes < (record.closed_at - record.opened_at - 2.5) * 32000
