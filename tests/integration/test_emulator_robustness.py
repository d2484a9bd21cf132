"""Malformed client messages get the real service's 1007 with a reason, never a 1011 crash, and
the emulator goes on serving the next call (issue 16's findings, one test each)."""

from __future__ import annotations

from unittest import mock

import pytest

from gemini_live_emulator import EmulatorConfig, LiveEmulator

from .emulator_raw import MODEL, exchange, good_call

SETUP = {"setup": {"model": f"models/{MODEL}"}}


@pytest.fixture
async def emu():
    async with LiveEmulator(EmulatorConfig(think_ms=10, pace=5.0, asr=False)) as e:
        yield e


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("where", ["first message", "after setup", "inside a tool response"])
async def test_deeply_nested_json_is_1007_not_a_crash(emu, where):
    deep = nested(200_000)
    message = {
        "first message": '{"setup": ' + deep + "}",
        "after setup": '{"clientContent": {"turns": ' + deep + "}}",
        "inside a tool response": '{"toolResponse": {"functionResponses": [{"id": "x", "response": {"a": ' + deep + "}}]}}",
    }[where]
    msgs = [message] if where == "first message" else [SETUP, message]
    code, reason, _ = await exchange(emu, msgs)
    assert code == 1007 and "Invalid" in reason, (code, reason)
    assert await good_call(emu)


@pytest.mark.parametrize(
    "content",
    [
        {"turns": [{"role": "user", "parts": 5}], "turnComplete": True},
        {"turns": 5},
        {"turns": [{"role": "user", "parts": [{"text": 7}]}]},
        {"turns": [None]},
        {"turnComplete": "maybe"},
    ],
)
async def test_client_content_of_the_wrong_shape_is_1007(emu, content):
    code, reason, _ = await exchange(emu, [SETUP, {"clientContent": content}])
    assert code == 1007 and reason.startswith("Invalid value at 'client_content"), (code, reason)
    assert await good_call(emu)


@pytest.mark.parametrize(
    "field, value, path",
    [
        ("generationConfig", [1], "setup.generation_config"),
        ("tools", {}, "setup.tools"),
        ("systemInstruction", 5, "setup.system_instruction"),
        ("realtimeInputConfig", {"automaticActivityDetection": "off"}, "setup.realtime_input_config"),
        ("generationConfig", {"responseModalities": "AUDIO"}, "setup.generation_config.response_modalities"),
        ("tools", [{"functionDeclarations": {"name": "f"}}], "setup.tools"),
    ],
)
async def test_setup_fields_of_the_wrong_type_are_1007(emu, field, value, path):
    setup = {"setup": {"model": f"models/{MODEL}", field: value}}
    code, reason, seen = await exchange(emu, [setup])
    assert code == 1007 and reason.startswith(f"Invalid value at '{path}"), (code, reason)
    assert not any("setupComplete" in m for m in seen)
    assert await good_call(emu)


@pytest.mark.parametrize(
    "first",
    [
        {"realtimeInput": {"audio": {"data": "AAAA", "mimeType": "audio/pcm;rate=16000"}}},
        {"realtimeInput": {"audio": {"data": "!!", "mimeType": "audio/wav"}}},
        {"clientContent": {"turns": 5}},
        {"toolResponse": {"functionResponses": []}},
    ],
)
async def test_anything_before_setup_is_told_setup_comes_first(emu, first):
    code, reason, _ = await exchange(emu, [first])
    assert (code, reason) == (1007, "The first message must be setup.")
    assert await good_call(emu)


async def test_realtime_input_of_the_wrong_shape_is_1007(emu):
    for body in ({"audio": "AAAA"}, {"text": ["hi"]}, {"mediaChunks": {"data": "AAAA"}}, {"audioStreamEnd": {"x": 1}}):
        code, reason, _ = await exchange(emu, [SETUP, {"realtimeInput": body}])
        assert code == 1007 and reason.startswith("Invalid value at 'realtime_input"), (body, code, reason)
    assert await good_call(emu)


async def test_api_keys_are_compared_in_constant_time(emu):
    with mock.patch("gemini_live_emulator.server.emulator.hmac.compare_digest", return_value=False) as compare:
        assert emu.accepts_key(emu.api_key) is False
    compare.assert_called_once()
    assert emu.accepts_key(emu.api_key) and not emu.accepts_key(emu.api_key + "x") and not emu.accepts_key("")
    code, _, _ = await exchange(emu, [SETUP], key="not-the-key")
    assert code == 1008
