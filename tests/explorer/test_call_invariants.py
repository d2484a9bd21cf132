"""The call invariants: each one fails on a fabricated record that breaks it, and passes on the
same record made whole. The call's end, caller audio lost, tool calls answered, connections
and tasks closed, the report agreeing with the wire, the latency budget; the turn invariants
are in test_invariants.py."""

from __future__ import annotations

import dataclasses

import pytest

from . import invariants as inv
from . import reading
from .fabricated import ME, TL, answer, record, whole
from .observation import HeardReply, ToolCall
from .timeline import Event


def test_a_fatal_error_the_faults_do_not_justify_fails():
    obs = whole()
    obs.errors = [(5.0, "Gemini Live session ended: the model rejected a request (1007)", True)]
    with pytest.raises(inv.UnjustifiedCallEnd, match="1007"):
        inv.check(obs)
    # A second 1007 in the call may end it, and the call then ends promptly.
    obs.records = [record(0, code=None, server_close_code=1007), record(1, code=None, server_close_code=1007)]
    with pytest.raises(inv.DeadCallLingers, match="went on until 16.00 s"):
        inv.check(obs)
    obs.end_s = 6.0
    inv.check(obs)


def test_caller_audio_lost_beyond_the_hold_bound_fails():
    obs = whole()
    obs.received_s = obs.pushed_s - obs.max_held_s - 1.0
    with pytest.raises(inv.AudioLost):
        inv.check(obs)
    obs.received_s = obs.pushed_s - obs.max_held_s + 0.2  # within the bound
    inv.check(obs)


def test_an_outage_from_the_call_start_allows_what_the_hold_could_not_keep():
    """Seed 9819: the first connects were refused for 25.5 s, and a persona switch requested
    at 19 s reported an 8 s gap; the outage is the wire's, from the call's start."""
    obs = whole()
    obs.end_s = obs.pushed_s = 40.0
    obs.audio_windows = [(25.5, 40.0)]
    obs.received_s = (40.0 - 25.5) + obs.max_held_s - 0.3  # the hold's last 10 s, then live
    assert reading.longest_outage(obs) == pytest.approx(25.5)
    inv.check(obs)
    obs.received_s -= 1.0  # a second more lost than the hold's bound explains
    with pytest.raises(inv.AudioLost, match="longest outage 25.50 s"):
        inv.check(obs)
    # Two sessions with a 3 s gap between their audio: the gap, not the call, is the outage.
    obs.audio_windows = [(0.1, 20.0), (23.0, 40.0)]
    assert reading.longest_outage(obs) == pytest.approx(3.0)


def test_an_outage_that_outlasts_the_call_may_lose_all_it_held():
    """Seed 9921: every connect refused at HTTP (no record on the server) until the call ended."""
    obs = whole()
    obs.received_s = 0.0
    assert reading.trailing_outage(obs) == obs.end_s
    inv.check_audio(obs)
    # A session that took audio until 4 s before the end: those 4 s may be lost, not more.
    obs.audio_windows, obs.received_s = [(0.1, 12.0)], 12.0
    assert reading.trailing_outage(obs) == pytest.approx(4.0)
    inv.check_audio(obs)
    obs.received_s = 1.0
    with pytest.raises(inv.AudioLost):
        inv.check_audio(obs)


def test_replayed_audio_does_not_count_as_received():
    # The first connection took 12 s and dropped; the next was replayed its last 11 s and took
    # 4 s of audio: 11 s of what the two received is the same audio twice.
    obs = whole()
    obs.records = [record(0, audio_bytes=12 * inv.RATE_BYTES), record(1, audio_bytes=4 * inv.RATE_BYTES)]
    obs.received_s, obs.replayed_s = obs.pushed_s, obs.max_held_s + 1.0
    with pytest.raises(inv.AudioLost):
        inv.check(obs)


def test_a_replay_of_audio_the_dropped_connection_never_took_is_its_first_delivery():
    # Seed 10635: the first connects were refused for 16 s (the hold kept the last 10 s); the
    # connection that opened dropped 0.06 s into taking them, and the next was replayed all 10 s.
    obs = whole()
    obs.end_s = obs.pushed_s = 25.0
    obs.audio_windows = [(16.0, 16.06), (16.1, 25.0)]
    obs.records = [record(0, audio_bytes=int(0.06 * inv.RATE_BYTES)), record(1, audio_bytes=int(18.9 * inv.RATE_BYTES))]
    obs.received_s, obs.replayed_s = 18.96, 10.0
    inv.check(obs)
    # Had the dropped one taken the 10 s, the replay would be them again: with the next
    # connection taking 0.9 s besides, 14 s never reached a session.
    obs.records = [record(0, audio_bytes=int(10.06 * inv.RATE_BYTES)), record(1, audio_bytes=int(10.9 * inv.RATE_BYTES))]
    obs.received_s = 20.96
    with pytest.raises(inv.AudioLost):
        inv.check(obs)


def test_an_unanswered_tool_call_fails():
    obs = whole()
    obs.records = [record(0, code=None, server_close_code=1011), record(1)]
    obs.tool_calls = [ToolCall(session=0, id="call-1", name="get_weather", at_s=2.5)]
    with pytest.raises(inv.ToolCallUnanswered, match="get_weather"):
        inv.check(obs)
    # Answered as a note to the next session (its own one was gone).
    obs.records[1].texts.append('[Function get_weather returned {"temp_c": 21}]')
    inv.check(obs)
    # Answered by id.
    obs.records[1].texts.clear()
    obs.records[0].tool_responses.append({"id": "call-1", "name": "get_weather", "response": {}})
    inv.check(obs)


def test_a_connection_left_open_fails():
    obs = whole()
    obs.records.append(record(1, closed=False))
    obs.open_after_wait = [1]
    with pytest.raises(inv.ConnectionLeftOpen, match=r"\[1\]"):
        inv.check(obs)


def test_a_task_left_running_fails():
    obs = whole()
    obs.leftover_tasks = ["GeminiLiveLLMService#0::live-session-3"]
    with pytest.raises(inv.TaskLeftRunning, match="live-session-3"):
        inv.check(obs)


def test_a_call_that_never_ends_fails():
    obs = dataclasses.replace(whole(), timed_out=True)
    with pytest.raises(inv.CallNeverEnded):
        inv.check(obs)


def test_a_report_that_counts_a_turn_the_wire_never_answered_fails():
    obs = whole()
    # The bot audio after turn 2 is the rest of an earlier answer, not an answer to it: the
    # model never answered turn 2 before turn 3 ended.
    obs.report_turns = [
        {"index": 1, "user_speech_end_s": 2.0, "bot_audio_start_s": 2.7},
        {"index": 2, "user_speech_end_s": 5.0, "bot_audio_start_s": 5.5},
        {"index": 3, "user_speech_end_s": 8.5, "bot_audio_start_s": 9.2},
    ]
    with pytest.raises(inv.ReportDisagrees, match="turn 2"):
        inv.check_report(obs, inv.latency_budget(TL))
    obs.wire_replies.insert(1, answer(6.0))  # answered after all, before turn 3 ended
    inv.check_report(obs, inv.latency_budget(TL))


def test_a_reply_marked_as_going_on_must_not_answer_the_caller():
    # The report leaves such replies out of its answers (seed 9932); one that answers the caller
    # too (seed 10116) would be a turn the report calls unanswered.
    obs = whole()
    obs.heard.append(HeardReply(1, 12.0, f'{ME}. I heard you for 1.0 seconds. You wrote: "{inv.CONTINUE_CUE}".', goes_on=True))
    with pytest.raises(inv.ReportDisagrees, match="answers the caller"):
        inv.check_report(obs, inv.latency_budget(TL))
    obs.heard[-1] = HeardReply(1, 12.0, f'{ME}. You wrote: "{inv.CONTINUE_CUE}".', goes_on=True)
    inv.check_report(obs, inv.latency_budget(TL))
    # Cut before its words show what it answers (seed 10032: a hang-up after one word).
    obs.heard[-1] = HeardReply(1, 12.0, "You", goes_on=True)
    inv.check_report(obs, inv.latency_budget(TL))


def test_a_turn_the_mic_kept_from_the_service_is_not_judged_in_the_report():
    # Seed 10221: the recording's third turn was muted whole; a reply after it is not a claim
    # that the service answered it.
    obs = whole()
    obs.report_turns.append({"index": 3, "user_speech_start_s": 10.0, "user_speech_end_s": 11.0, "bot_audio_start_s": 11.2})
    inv.check_report(obs, inv.latency_budget(TL))
    obs.utterances.append((10.0, 11.0))  # ... but one that reached it is
    with pytest.raises(inv.ReportDisagrees, match="turn 3"):
        inv.check_report(obs, inv.latency_budget(TL))


def test_the_budget_grows_with_each_disruption():
    quiet = inv.latency_budget(TL)
    stalled = inv.latency_budget(dataclasses.replace(TL, faults=("stall:8@reply",)))
    switched = inv.latency_budget(dataclasses.replace(TL, events=(Event("persona", 0, 1.0, 1),)))
    assert quiet == inv.BASE_LATENCY_S + inv.WALL_SLACK_S
    assert stalled > quiet + 8 and switched > quiet
