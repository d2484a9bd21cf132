"""Outbound translation without sockets: the wire form content takes per model profile."""

import json

import pytest
from pipecat.adapters.llm.services.gemini_live_adapter import GeminiLiveLLMAdapter

from pipecat_gemini_live.protocol.context_messages import Turn
from pipecat_gemini_live.protocol.history import CONTINUE_MARKER
from pipecat_gemini_live.protocol.outbound import (
    contents,
    deliver_turns,
    note_delivery,
    orphan_note,
    result_body,
    takes_client_content_now,
    tool_response,
)
from pipecat_gemini_live.protocol.profiles import GEMINI_2_5_NATIVE_AUDIO, GEMINI_3_1_LIVE, GEMINI_3_8_LIVE

ASK = [Turn("model", "Welcome back."), Turn("user", "What time is checkout?")]


def texts(delivery):
    return [(c.role, c.parts[0].text) for c in delivery.client_content]


@pytest.mark.parametrize("profile", [GEMINI_2_5_NATIVE_AUDIO, GEMINI_3_8_LIVE])
def test_a_model_that_takes_client_content_mid_call_gets_the_turns_and_answers_them(profile):
    d = deliver_turns(profile, ASK, respond=True, realtime_input_sent=True)
    assert texts(d) == [("model", "Welcome back."), ("user", "What time is checkout?")]
    assert d.turn_complete and d.realtime_text is None and d.kept == [] and d.owes_reply


def test_3_1_before_realtime_input_takes_history_and_asks_by_realtime_text():
    d = deliver_turns(GEMINI_3_1_LIVE, ASK, respond=True, realtime_input_sent=False)
    # the model turn goes as initial history; the user turn as the text it answers
    assert texts(d) == [("model", "Welcome back.")]
    assert not d.turn_complete  # the realtime text is what it answers
    assert d.realtime_text == "What time is checkout?" and d.owes_reply


def test_3_1_after_realtime_input_keeps_what_it_cannot_take_for_the_next_seed():
    d = deliver_turns(GEMINI_3_1_LIVE, ASK, respond=True, realtime_input_sent=True)
    assert d.client_content == []  # a late clientContent is closed with 1007
    assert d.realtime_text == "What time is checkout?"
    assert d.kept == [Turn("model", "Welcome back.")]


def test_3_1_keeps_an_unanswered_user_turn_after_realtime_input():
    d = deliver_turns(GEMINI_3_1_LIVE, [Turn("user", "Note: VIP guest.")], respond=False, realtime_input_sent=True)
    assert d.client_content == [] and d.realtime_text is None
    assert d.kept == [Turn("user", "Note: VIP guest.")] and not d.owes_reply


def test_turns_ending_with_the_model_are_never_answered():
    d = deliver_turns(GEMINI_3_8_LIVE, [Turn("user", "hi"), Turn("model", "hello")], respond=True, realtime_input_sent=True)
    assert not d.turn_complete and not d.owes_reply and d.realtime_text is None
    assert texts(d) == [("user", "hi"), ("model", "hello")]


def test_2_5_gets_a_user_marker_after_a_model_turn_it_would_refuse():
    d = deliver_turns(GEMINI_2_5_NATIVE_AUDIO, [Turn("user", "hi"), Turn("model", "hello")], respond=False, realtime_input_sent=True)
    assert texts(d) == [("user", "hi"), ("model", "hello"), ("user", CONTINUE_MARKER)]
    assert not d.turn_complete and not d.owes_reply


def test_nothing_to_deliver():
    d = deliver_turns(GEMINI_3_8_LIVE, [], respond=True, realtime_input_sent=False)
    assert d.client_content == [] and d.realtime_text is None and not d.owes_reply


@pytest.mark.parametrize("profile, realtime, takes", [
    (GEMINI_2_5_NATIVE_AUDIO, True, True), (GEMINI_3_1_LIVE, False, True), (GEMINI_3_1_LIVE, True, False),
])  # fmt: skip
def test_when_client_content_is_taken(profile, realtime, takes):
    assert takes_client_content_now(profile, realtime) is takes


def test_a_note_is_a_complete_user_turn_or_realtime_text():
    d = note_delivery(GEMINI_2_5_NATIVE_AUDIO, "[Function f returned {}]")
    assert texts(d) == [("user", "[Function f returned {}]")] and d.turn_complete and d.owes_reply
    d = note_delivery(GEMINI_3_1_LIVE, "[Function f returned {}]")
    assert d.client_content == [] and d.realtime_text == "[Function f returned {}]" and d.owes_reply


def test_contents_keep_roles_and_text():
    assert [(c.role, c.parts[0].text) for c in contents([Turn("user", "a"), Turn("model", "b")])] == [("user", "a"), ("model", "b")]


def test_a_blocking_function_gets_one_response_the_final_one():
    assert tool_response("c1", "f", {"x": 1}, non_blocking=False, final=False) is None
    r = tool_response("c1", "f", {"x": 1}, non_blocking=False)
    assert (r.id, r.name, r.response, r.scheduling, r.will_continue) == ("c1", "f", {"x": 1}, None, None)
    # a cancelled call is answered anyway
    assert tool_response("c1", "f", {"error": "timed out"}, non_blocking=False, final=False, force=True) is not None


def test_a_non_blocking_function_carries_its_scheduling_and_will_continue():
    r = tool_response("c2", "book", {"ok": True}, non_blocking=True, final=False, scheduling="INTERRUPT")
    assert r.response == {"ok": True, "scheduling": "INTERRUPT"}
    assert r.scheduling.value == "INTERRUPT" and r.will_continue is True
    r = tool_response("c2", "book", {"ok": True}, non_blocking=True)
    assert r.scheduling.value == "WHEN_IDLE" and r.will_continue is False


def test_result_bodies():
    to_dict = GeminiLiveLLMAdapter.to_function_response_dict
    assert result_body(None, None, to_dict) == ({"result": "COMPLETED"}, None)
    assert result_body({"a": 1}, None, to_dict)[0] == to_dict({"a": 1})
    body, problem = result_body({"when": object()}, None, to_dict)
    assert "error" in body and "not JSON-serialisable" in problem
    body, problem = result_body(object(), "boom", to_dict)
    assert body["error"] == "boom" and isinstance(body["result"], str) and problem is None


def test_an_orphaned_result_becomes_a_note_with_its_json():
    note = orphan_note("weather", {"temp_c": 21})
    assert note.startswith("[Function weather returned ") and json.loads(note[len("[Function weather returned ") : -1]) == {"temp_c": 21}
