"""Server message -> event translation, on messages built by the emulator's wire module."""

from google.genai.types import LiveServerMessage

from pipecat_gemini_live.protocol import inbound as r
from gemini_live_emulator import server_messages, wire


def m(obj) -> LiveServerMessage:
    return LiveServerMessage.model_validate(obj)


def kinds(events):
    return [type(e).__name__ for e in events]


def test_a_normal_turn():
    t = r.ResponseTranslator()
    assert kinds(t.translate(m(server_messages.input_transcription("hello there")))) == ["CallerSpeaking"]
    first = t.translate(m(server_messages.audio_chunk(b"\x01\x00" * 10)))
    assert kinds(first) == ["CallerTranscript", "BotStarted", "BotAudio"]
    assert first[0].text == "hello there" and first[2].sample_rate == 24000
    assert kinds(t.translate(m(server_messages.output_transcription("Hi")))) == ["BotTranscript"]
    assert kinds(t.translate(m(server_messages.audio_chunk(b"\x02\x00")))) == ["BotAudio"]
    assert kinds(t.translate(m(server_messages.generation_complete()))) == ["GenerationDone"]
    done = t.translate(m(server_messages.turn_complete(server_messages.usage_metadata(5, 5, 5))))
    assert kinds(done) == ["BotStopped", "TurnComplete", "Usage"]
    assert done[0].interrupted is False and not t.responding


def test_an_interrupted_turn():
    t = r.ResponseTranslator()
    t.translate(m(server_messages.audio_chunk(b"\x01\x00")))
    events = t.translate(m(server_messages.interrupted()))
    assert kinds(events) == ["Interrupted", "BotStopped"]
    assert events[0].was_responding and events[1].interrupted
    # turnComplete after an interruption closes nothing more.
    assert kinds(t.translate(m(server_messages.turn_complete()))) == ["TurnComplete"]


def test_interrupted_while_idle_is_reported_but_stops_nothing():
    t = r.ResponseTranslator()
    (event,) = t.translate(m(server_messages.interrupted()))
    assert isinstance(event, r.Interrupted) and not event.was_responding


def test_bundled_content_and_turn_complete():
    msg = {
        "serverContent": {
            "modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AQA="}}]},
            "outputTranscription": {"text": "ok"},
            "turnComplete": True,
        }
    }
    assert kinds(r.ResponseTranslator().translate(m(msg))) == [
        "BotStarted",
        "BotAudio",
        "BotTranscript",
        "BotStopped",
        "TurnComplete",
    ]


def test_tools_goaway_resumption():
    t = r.ResponseTranslator()
    calls = t.translate(m(server_messages.tool_call([{"id": "c1", "name": "get_weather", "args": {"city": "Paris"}}])))
    assert isinstance(calls[0], r.ToolCalls) and calls[0].calls[0].args == {"city": "Paris"}
    (cancel,) = t.translate(m(server_messages.tool_call_cancellation(["c1"])))
    assert cancel.ids == ["c1"]
    (goaway,) = t.translate(m(server_messages.go_away(49.5)))
    assert goaway.time_left_s == 49.5
    (update,) = t.translate(m(server_messages.resumption_update("h", True)))
    assert update.handle == "h" and update.resumable


def test_reset_closes_a_reply_in_progress():
    t = r.ResponseTranslator()
    t.translate(m(server_messages.input_transcription("caller words")))
    t.translate(m(server_messages.output_transcription("bot words")))
    events = t.reset()
    assert kinds(events) == ["BotStopped"] and events[0].interrupted
    assert t.reset() == []


def test_helpers():
    assert r.parse_duration("50s") == 50.0
    assert r.parse_duration("0.25s") == 0.25
    assert r.parse_duration(None) == 0.0
    assert r.audio_rate("audio/pcm;rate=16000") == 16000
    assert r.audio_rate("audio/pcm") == 24000
