import base64
import json

import pytest

from gemini_live_emulator import server_messages, wire


def msg(obj) -> str:
    return json.dumps(obj)


def test_setup_in_sdk_spelling():
    raw = msg(
        {
            "setup": {
                "model": "models/gemini-3.1-flash-live-preview",
                "generationConfig": {
                    "responseModalities": ["AUDIO"],
                    "speechConfig": {"voice_config": {"prebuilt_voice_config": {"voice_name": "Puck"}}, "language_code": "ko-KR"},
                },
                "systemInstruction": {"parts": [{"text": "You are a pirate."}], "role": "user"},
                "tools": [{"functionDeclarations": [{"name": "get_weather", "behavior": "NON_BLOCKING"}]}],
                "realtimeInputConfig": {"automatic_activity_detection": {"silence_duration_ms": 300, "disabled": False}},
                "sessionResumption": {"handle": "h1"},
                "inputAudioTranscription": {},
                "historyConfig": {"initial_history_in_client_content": True},
            }
        }
    )
    (setup,) = wire.parse_client_message(raw)
    assert isinstance(setup, wire.Setup)
    assert setup.model == "models/gemini-3.1-flash-live-preview"
    assert setup.system_instruction == "You are a pirate."
    assert setup.voice_name == "Puck" and setup.language_code == "ko-KR"
    assert setup.vad.silence_duration_ms == 300 and not setup.vad.disabled
    assert setup.tools[0].name == "get_weather" and setup.tools[0].behavior == "NON_BLOCKING"
    assert setup.resumption_enabled and setup.resumption_handle == "h1"
    assert setup.input_transcription and not setup.output_transcription
    assert setup.initial_history_in_client_content


def test_unknown_setup_field_is_1007():
    with pytest.raises(wire.ProtocolError) as e:
        wire.parse_client_message(msg({"setup": {"model": "m", "frobnicate": 1}}))
    assert e.value.code == 1007 and "frobnicate" in e.value.reason


@pytest.mark.parametrize("key", ["realtime_input", "realtimeInput"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_audio_in_both_spellings_and_alphabets(key, encode):
    pcm = bytes([0xFB, 0xFF, 0xFE, 0xFF] * 8)  # bytes that differ between the alphabets
    data = encode(pcm).decode().rstrip("=")
    mime_key = "mime_type" if key == "realtime_input" else "mimeType"
    (event,) = wire.parse_client_message(msg({key: {"audio": {"data": data, mime_key: "audio/pcm;rate=8000"}}}))
    assert isinstance(event, wire.RealtimeAudio)
    assert event.pcm == pcm and event.rate == 8000


def test_legacy_media_chunks_and_flags():
    pcm = b"\x01\x00" * 4
    events = wire.parse_client_message(
        msg({"realtimeInput": {"mediaChunks": [{"data": base64.b64encode(pcm).decode(), "mimeType": "audio/pcm"}]}})
    )
    assert isinstance(events[0], wire.RealtimeAudio) and events[0].rate == 16000
    (end,) = wire.parse_client_message(msg({"realtime_input": {"audioStreamEnd": True}}))
    assert isinstance(end, wire.AudioStreamEnd)
    (start,) = wire.parse_client_message(msg({"realtimeInput": {"activityStart": {}}}))
    assert isinstance(start, wire.ActivityStart)


def test_client_content_tool_response_context_update():
    (cc,) = wire.parse_client_message(
        msg({"client_content": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turnComplete": True}})
    )
    assert cc.turn_complete and cc.turns[0].text == "hi"
    (tr,) = wire.parse_client_message(
        msg({"toolResponse": {"functionResponses": [{"id": "1", "name": "f", "response": {"x": 1, "scheduling": "silent"}}]}})
    )
    assert tr.responses[0].scheduling == "SILENT" and tr.responses[0].response["x"] == 1
    (cu,) = wire.parse_client_message(msg({"contextUpdate": {"systemInstruction": {"parts": [{"text": "new"}]}}}))
    assert cu.system_instruction == "new" and cu.tools is None


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        msg([1, 2]),
        msg({"bogus": {}}),
        msg({"realtimeInput": {"audio": {"data": "%%%", "mimeType": "audio/pcm"}}}),
        msg({"realtimeInput": {"audio": {"data": "AAAA", "mimeType": "audio/pcm;rate=16000"}}}),  # 3 bytes
        msg({"realtimeInput": {"audio": {"data": "AAAA", "mimeType": "audio/opus"}}}),
        msg({"realtimeInput": {}}),
    ],
)
def test_bad_messages_close_1007(raw):
    with pytest.raises(wire.ProtocolError) as e:
        wire.parse_client_message(raw)
    assert e.value.code == 1007
    assert len(e.value.wire_reason().encode()) <= 123


@pytest.mark.parametrize(
    "body, path",
    [
        ({"clientContent": {"turns": [], "turnComplete": 1}}, "client_content.turn_complete"),
        ({"clientContent": {"turns": [], "turn_complete": "true"}}, "client_content.turn_complete"),
        ({"realtimeInput": {"audioStreamEnd": 1}}, "realtime_input.audio_stream_end"),
        ({"toolResponse": {"functionResponses": [{"id": "a", "willContinue": 0}]}}, "tool_response.function_responses.0.will_continue"),
        (
            {"setup": {"model": "m", "realtimeInputConfig": {"automaticActivityDetection": {"disabled": "yes"}}}},
            "setup.realtime_input_config.automatic_activity_detection.disabled",
        ),
    ],
)
def test_booleans_must_be_json_booleans(body, path):
    """Proto JSON takes only ``true`` / ``false`` for a bool; lax truthy values are refused."""
    with pytest.raises(wire.ProtocolError) as e:
        wire.parse_client_message(msg(body))
    assert e.value.code == 1007 and f"Invalid value at '{path}'" in e.value.reason, e.value.reason


def test_json_booleans_still_pass():
    (event,) = wire.parse_client_message(msg({"clientContent": {"turns": [], "turnComplete": True}}))
    assert event.turn_complete is True


def test_server_messages_are_camel_case():
    assert set(server_messages.go_away(50)) == {"goAway"} and server_messages.go_away(50)["goAway"]["timeLeft"] == "50s"
    assert server_messages.go_away(1.5)["goAway"]["timeLeft"] == "1.5s"
    usage = server_messages.turn_complete(server_messages.usage_metadata(10, 5, 20))
    assert usage["usageMetadata"]["totalTokenCount"] == 35
    chunk = server_messages.audio_chunk(b"\x00\x01")
    assert chunk["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["mimeType"] == "audio/pcm;rate=24000"
