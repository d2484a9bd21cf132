"""The turn invariants: each one fails on a fabricated record that breaks it, and passes on the
same record made whole (a check that cannot fail would make the explorer blind). Every turn
answered, once, in time, heard, in the persona in force; every sentence reaching an answer. The
call's other invariants (its end, audio, tools, resources, report) are in
test_call_invariants.py."""

from __future__ import annotations

import pytest

from . import invariants as inv
from . import reading
from .fabricated import ME, TL, answer, function_result_call, record, whole
from .observation import HeardReply, ToolCall


def test_a_whole_call_passes():
    inv.check(whole())


def test_a_turn_never_answered_fails():
    obs = whole()
    obs.wire_replies = obs.wire_replies[:1]
    obs.report_turns[1]["bot_audio_start_s"] = None
    with pytest.raises(inv.UnansweredTurn, match=r"caller turn \[1\].*never answered"):
        inv.check(obs)


def test_a_turn_answered_too_late_fails():
    obs = whole()
    obs.wire_replies[1] = answer(8.5 + inv.latency_budget(TL) + 0.5)
    obs.report_turns[1]["bot_audio_start_s"] = None
    with pytest.raises(inv.UnansweredTurn, match="answered only at"):
        inv.check(obs)


def test_a_turn_the_caller_hung_up_on_is_not_owed():
    obs = whole()
    obs.wire_replies = obs.wire_replies[:1]
    obs.report_turns = obs.report_turns[:1]
    obs.hangup_s = 9.0
    inv.check(obs)


def test_a_quick_second_utterance_joins_the_first_turn():
    obs = whole()
    obs.utterances = [(1.0, 2.0), (2.5, 3.5)]  # the caller went on before the bot was due
    obs.wire_replies = [answer(4.1, heard=2.0)]
    obs.heard = [HeardReply(0, 4.15)]
    obs.report_turns = []
    inv.check(obs)
    assert reading.turns(obs, inv.latency_budget(TL)) == [[0, 1]]


def test_an_answer_the_caller_never_heard_fails():
    obs = whole()
    obs.heard = obs.heard[:1]  # answered on the wire, but the service never played it
    with pytest.raises(inv.UnheardAnswer, match=r"caller turn \[1\]"):
        inv.check(obs)
    other = "You are a test assistant. I heard you for 7.0 seconds."
    obs.heard.append(HeardReply(0, 9.15, text=other))  # another reply played then does not count
    with pytest.raises(inv.UnheardAnswer):
        inv.check(obs)
    obs.heard[-1] = HeardReply(2, 9.15, text=obs.wire_replies[1].text[:30], interrupted=True)
    inv.check(obs)  # the start of it was played (session numbers may differ between the sides)


def test_an_answer_silenced_with_its_session_may_be_given_by_the_next_one():
    # Seed 9623: a goAway move (no time to wait) left session 0 before its answer's audio came,
    # and the resumed session 1 answered the replayed turn; that answer is the one heard.
    obs = whole()
    obs.wire_replies[1] = answer(9.1, audio_s=0.0, interrupted=True)
    obs.heard = obs.heard[:1]
    with pytest.raises(inv.UnheardAnswer, match=r"caller turn \[1\]"):
        inv.check(obs)
    obs.records.append(record(1))
    obs.wire_replies.append(answer(9.9, session=1, heard=1.5))
    obs.heard.append(HeardReply(1, 9.95, text=obs.wire_replies[-1].text))
    obs.report_turns[1]["bot_audio_start_s"] = 9.95
    inv.check(obs)
    # ... not when the first answer was spoken to its end (the service played nothing of it).
    obs.wire_replies[1] = answer(9.1)
    with pytest.raises(inv.UnheardAnswer, match="at 9.10 s"):
        inv.check(obs)


def test_an_answer_in_the_wrong_persona_fails():
    obs = whole()
    obs.wire_replies[1] = answer(9.1, persona="You are a pirate")
    with pytest.raises(inv.WrongPersona, match="pirate"):
        inv.check(obs)
    # ... unless the switch to it came before the answer began.
    obs.personas.append((8.0, "You are a pirate"))
    inv.check(obs)


def test_two_complete_answers_to_one_turn_fail():
    obs = whole()
    obs.wire_replies.insert(1, answer(3.0, session=1))
    with pytest.raises(inv.DuplicateAnswer):
        inv.check(obs)
    # A first answer cut by its connection closing (no audio finished) may be answered again.
    obs.wire_replies[0] = answer(2.6, audio_s=0.0)
    inv.check(obs)


def test_sentences_answered_one_after_another_are_not_duplicates():
    # The caller spoke three sentences while a tool call was pending; the model answers each.
    obs = whole()
    obs.utterances = [(1.0, 2.4), (3.0, 3.9), (4.5, 8.4)]
    obs.wire_replies = [answer(9.0, heard=1.4, audio_s=9.0), answer(17.7, heard=0.9), answer(22.0, heard=3.9)]
    obs.heard = [HeardReply(0, r.at_s + 0.05, r.text) for r in obs.wire_replies]
    obs.end_s, obs.report_turns = 30.0, []
    inv.check(obs)
    # ... but the same sentence spoken to the end twice is a duplicate.
    obs.wire_replies[2] = answer(22.0, heard=0.9)
    obs.heard[2] = HeardReply(0, 22.05, obs.wire_replies[2].text)
    with pytest.raises(inv.DuplicateAnswer):
        inv.check(obs)
    # Unless the caller said two sentences of that length (seed 10116: the same card twice).
    obs.utterances[2] = (4.5, 5.4)
    inv.check(obs)
    obs.wire_replies.append(answer(26.0, heard=0.9))
    obs.heard.append(HeardReply(0, 26.05, obs.wire_replies[-1].text))
    with pytest.raises(inv.DuplicateAnswer):
        inv.check(obs)


def test_a_sentence_no_answer_heard_fails():
    # Seed 10116's shape: the caller says a card, then the same card again before any answer;
    # the model answers the first and the second never reaches it.
    obs = whole()
    obs.utterances = [(1.0, 1.9), (2.9, 3.8)]
    obs.wire_replies = [answer(4.5, heard=0.9, audio_s=3.0)]
    obs.heard = [HeardReply(0, 4.55, obs.wire_replies[0].text)]
    obs.report_turns = []
    with pytest.raises(inv.LostSentence, match=r"caller turn \[0, 1\].*heard 0.9 s"):
        inv.check(obs)
    # Both heard in one answer, or one answer each (queued behind the first): whole.
    obs.wire_replies = [answer(4.5, heard=1.8)]
    obs.heard = [HeardReply(0, 4.55, obs.wire_replies[0].text)]
    inv.check(obs)
    obs.wire_replies = [answer(4.5, heard=0.9, audio_s=3.0), answer(7.9, heard=0.9)]
    obs.heard = [HeardReply(0, r.at_s + 0.05, r.text) for r in obs.wire_replies]
    inv.check(obs)


def test_a_turn_whose_function_call_was_withdrawn_is_not_judged_by_its_sentences():
    # On 3.1 the caller's next words withdraw a pending call; the model answers those words
    # with the first sentence as context, and its answer hears only them.
    obs = whole()
    obs.utterances = [(1.0, 1.9), (2.9, 3.8)]
    obs.wire_replies = [answer(4.5, heard=0.9)]
    obs.heard = [HeardReply(0, 4.55, obs.wire_replies[0].text)]
    obs.report_turns = []
    obs.tool_calls = [ToolCall(session=0, id="c1", name="get_weather", at_s=2.4)]
    obs.records = [record(0, tool_calls=[{"id": "c1", "name": "get_weather"}], extra={"cancelled_tool_calls": ["c1"]})]
    inv.check(obs)
    obs.records[0].extra = {}
    obs.records[0].tool_responses = [{"id": "c1", "response": {}}]
    with pytest.raises(inv.LostSentence):
        inv.check(obs)


def test_a_turn_is_due_only_once_the_reply_before_it_has_been_sent():
    obs = whole()
    obs.wire_replies[0] = answer(2.6, audio_s=9.0)  # still streaming until 11.6 s
    obs.wire_replies[1] = answer(12.0)
    obs.heard = [HeardReply(0, 2.65), HeardReply(0, 12.05)]
    obs.report_turns = []
    inv.check(obs)
    obs.wire_replies[1] = answer(11.6 + inv.latency_budget(TL) + 0.5)
    obs.heard[1] = HeardReply(0, obs.wire_replies[1].at_s)
    with pytest.raises(inv.UnansweredTurn, match="due by"):
        inv.check(obs)


def test_a_function_results_reply_that_begins_while_the_caller_speaks_answers_the_sentence_that_asked():
    # Seed 10419's shape: the caller asks (2.8-3.7 s, the function is called at 4.4 s), says a
    # sentence while it runs, and is saying a long one when the result's reply begins (7.7 s).
    # The reply quoting the result answers the sentence that asked; the other two are answered
    # after the turn, one after another.
    obs = function_result_call([(2.8, 3.7), (5.0, 5.9), (6.4, 9.5)], 4.4, answer(7.7, heard=0.9, audio_s=3.0))
    obs.wire_replies += [answer(11.5, heard=0.9, audio_s=3.0), answer(15.0, heard=3.1)]
    obs.heard = [HeardReply(0, r.at_s + 0.05, r.text) for r in obs.wire_replies]
    inv.check(obs)
    # Without the result's reply, the sentence that asked was never answered.
    obs.wire_replies[0] = answer(7.7, heard=0.0, audio_s=3.0)
    obs.wire_replies[0].text = "A reply that quotes nothing."
    with pytest.raises(inv.LostSentence, match=r"heard 4.0 s"):
        inv.check(obs)


def test_an_answer_in_the_persona_a_failed_switch_left_the_call_in_passes_while_it_stays_there():
    # Seed 10624's shape: the pirate is asked for at 1.8 s, the server refuses every new
    # session, the service stays on the one it has (and says so), and it answers the caller.
    from pipecat_gemini_live.protocol.switch_plan import SwitchRecord

    obs = whole()
    obs.personas.append((1.8, "You are a pirate"))
    obs.switches = [SwitchRecord("start", 0.0, applied_s=0.05, ok=True, session_index=0, system_instruction=ME + ".")]
    obs.errors = [(2.5, "Gemini Live persona switch failed; staying on the current session: 1011", False)]
    inv.check(obs)
    # Without the failure said, the old persona is the wrong one.
    obs.errors = []
    with pytest.raises(inv.WrongPersona, match="pirate"):
        inv.check(obs)
    # Nor once the switch took effect after it failed: a later answer is the new persona's.
    obs.errors = [(2.5, "Gemini Live persona switch failed; staying on the current session: 1011", False)]
    obs.switches.append(SwitchRecord("persona", 1.8, applied_s=5.0, ok=True, session_index=1, system_instruction="You are a pirate."))
    with pytest.raises(inv.WrongPersona, match="pirate"):
        inv.check(obs)


def test_an_answer_begun_and_cut_on_a_session_the_call_had_left_is_no_answer():
    # Seed 10540's shape: a goAway with 2.9 s left moves the call at 6.7 s, 0.6 s after the
    # caller's sentence ended and just before the old session's answer (6.85 s), which the
    # service ends there; the new session is replayed the sentence and begins its answer as the
    # caller's next sentence begins (cut before it is heard); that sentence's answer hears it.
    # The caller went on before any answer they could hear: one turn of two sentences.
    obs = whole()
    obs.utterances = [(3.4, 6.06), (7.7, 10.8)]
    obs.audio_from = {0: 0.05, 1: 6.7}  # the call moved onto session 1 at 6.7 s
    obs.wire_replies = [
        answer(6.85, heard=2.7, audio_s=0.2, interrupted=True),
        answer(8.1, session=1, heard=2.7, audio_s=0.04, interrupted=True),
        answer(12.3, session=1, heard=3.1),
    ]
    obs.heard = [HeardReply(1, 12.31, obs.wire_replies[2].text)]
    obs.records = [record(0), record(1)]
    obs.report_turns = []
    obs.end_s = 25.0
    inv.check(obs)
    # Had the call still been on the old session, its answer went unheard.
    obs.audio_from[1] = 6.9
    with pytest.raises(inv.UnheardAnswer):
        inv.check(obs)
    # An old session's answer spoken to the end after the move, never played, is a loss.
    obs.audio_from[1] = 6.7
    obs.wire_replies[0] = answer(6.85, heard=2.7, audio_s=2.0)
    with pytest.raises(inv.UnheardAnswer):
        inv.check(obs)
    # And a sentence no answer heard is still lost.
    obs.wire_replies[0] = answer(6.85, heard=2.7, audio_s=0.2, interrupted=True)
    obs.wire_replies[1] = answer(8.1, session=1, heard=0.0, audio_s=0.04, interrupted=True)
    with pytest.raises(inv.LostSentence):
        inv.check(obs)


def test_an_old_sessions_answer_played_after_the_move_stays_the_turns_answer():
    # A hand-over with time to spare: the call's audio goes to the new session while the old
    # one finishes the turn it heard, and the service plays that answer. It answers the turn
    # (the new session owes none), even when the caller's talking over it cuts it.
    obs = whole()
    obs.audio_from = {0: 0.05, 1: 2.2}
    obs.wire_replies = [answer(2.6, interrupted=True, audio_s=0.5), answer(9.1, session=1)]
    obs.heard = [HeardReply(0, 2.65, obs.wire_replies[0].text, interrupted=True), HeardReply(1, 9.15)]
    obs.records = [record(0), record(1)]
    inv.check(obs)
    # Unplayed, it is no answer, and the turn it answered went unanswered.
    obs.heard = obs.heard[1:]
    with pytest.raises(inv.UnansweredTurn):
        inv.check(obs)


def test_a_function_results_reply_does_not_answer_a_sentence_said_while_the_function_ran():
    # Seed 10734's shape: a long sentence asks (the call at 4.0 s), a card is said while the
    # function runs, the result's reply (7.0 s, 12 s long) begins just after the same card is
    # said again, and the model answers each card in turn behind it.
    obs = function_result_call([(0.3, 3.5), (4.9, 5.8), (6.8, 7.7)], 4.0, answer(7.0, heard=3.2, audio_s=12.0))
    obs.wire_replies += [answer(19.1, heard=0.9, audio_s=6.9), answer(26.1, heard=0.9)]
    obs.heard = [HeardReply(0, r.at_s + 0.01, r.text) for r in obs.wire_replies]
    obs.end_s = 38.0
    assert reading.turns(obs, inv.latency_budget(TL)) == [[0, 1, 2]]
    inv.check(obs)
    # The second card's answer missing is a lost sentence, and a third answer to a card a
    # duplicate.
    del obs.wire_replies[2], obs.heard[2]
    with pytest.raises(inv.LostSentence):
        inv.check(obs)
    obs.wire_replies += [answer(26.1, heard=0.9, audio_s=6.9), answer(33.1, heard=0.9)]
    obs.heard = [HeardReply(0, r.at_s + 0.01, r.text) for r in obs.wire_replies]
    with pytest.raises(inv.DuplicateAnswer):
        inv.check(obs)
    # A reply that quotes the result of a function called during the sentence still ends it.
    obs.tool_calls[0].at_s = 5.0
    assert reading.turns(obs, inv.latency_budget(TL)) == [[0, 1], [2]]
