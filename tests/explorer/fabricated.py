"""Fabricated call records for the invariant tests: a whole call (no violation) and the pieces
a test breaks it with."""

from __future__ import annotations

from gemini_live_emulator.records import SessionRecord

from .observation import HeardReply, Observation, ToolCall, WireReply
from .timeline import Timeline

M25 = "gemini-2.5-flash-native-audio-preview-12-2025"
TL = Timeline(M25, ((1.0, "cards_001.wav"), (5.0, "cards_003.wav")))
ME = "You are a test assistant"


def record(index: int, *, closed: bool = True, code: int | None = 1000, **fields) -> SessionRecord:
    rec = SessionRecord(index=index, api_version="v1beta", method="BidiGenerateContent", **fields)
    if closed:
        rec.closed_at = rec.opened_at + 1.0
        rec.client_close_code = code
    return rec


def answer(at_s: float, *, session: int = 0, persona: str = ME, heard: float = 1.0, **kw) -> WireReply:
    text = f"{persona}. I heard you for {heard:.1f} seconds. I remember no earlier turns."
    return WireReply(session=session, index=0, at_s=at_s, text=text, persona=persona, audio_s=kw.pop("audio_s", 4.0), **kw)


def whole() -> Observation:
    """Two caller turns, each answered promptly, everything closed: no violation."""
    return Observation(
        timeline=TL,
        utterances=[(1.0, 2.0), (7.0, 8.5)],
        personas=[(0.0, ME)],
        wire_replies=[answer(2.6), answer(9.1)],
        tool_calls=[],
        records=[record(0)],
        heard=[HeardReply(0, 2.65), HeardReply(0, 9.15)],
        end_s=16.0,
        pushed_s=16.0,
        received_s=16.0,
        report_turns=[
            {"index": 1, "user_speech_end_s": 2.0, "bot_audio_start_s": 2.7},
            {"index": 2, "user_speech_end_s": 8.5, "bot_audio_start_s": 9.2},
        ],
    )


def function_result_call(utterances: list[tuple[float, float]], called_at: float, result: WireReply) -> Observation:
    """A call whose caller asked for get_weather (called at ``called_at``, answered) and whose
    ``result`` reply quotes what it returned; the replies after it are the test's to add."""
    obs = whole()
    obs.utterances = utterances
    result.text = result.text.replace("I remember", 'The tool said: get_weather returned {"temp_c":21}. I remember')
    obs.wire_replies = [result]
    obs.report_turns = []
    obs.tool_calls = [ToolCall(session=0, id="c1", name="get_weather", at_s=called_at)]
    obs.records = [record(0, tool_calls=[{"id": "c1", "name": "get_weather"}], tool_responses=[{"id": "c1", "response": {}}])]
    obs.end_s = 30.0
    return obs
