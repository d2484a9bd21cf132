"""The WAV call report's turns: a caller turn is answered by a reply that began after it, heard."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pipecat_gemini_live.apps import report as report_module
from pipecat_gemini_live.apps.report import CallReporter


class _Service:
    def __init__(self, replies):
        self.replies = replies
        self.clock = SimpleNamespace(shared=None)

    def event_handler(self, _name):
        return lambda handler: handler


def _reply(index: int, started_at: float, goes_on: bool = False) -> SimpleNamespace:
    return SimpleNamespace(
        index=index, started_at=started_at, session_index=0, system_instruction="You are a test assistant.",
        text=f"reply {index}", caller_text="", interrupted=False, goes_on=goes_on,
    )


def _turns(monkeypatch, caller, replies, writes) -> list[dict]:
    monkeypatch.setattr(report_module, "caller_segments", lambda _source: list(caller))
    transport = SimpleNamespace(
        source=None, clock=SimpleNamespace(at=lambda t: t), output=lambda: SimpleNamespace(writes=list(writes))
    )
    reporter = CallReporter(transport=transport, service=_Service(replies), model="m", backend="emulator")
    return reporter.turns()


def test_playback_resuming_after_an_underrun_is_not_the_next_turns_answer(monkeypatch):
    """Seed 9831 (make explore, a loaded machine): a reply that began during the caller's next
    turn was still playing when that turn ended; an underrun split its playback, and the report
    counted the second part as an answer to a turn no reply answered."""
    caller = [(5.6, 7.4), (11.1, 12.9), (13.9, 17.2)]
    turns = _turns(monkeypatch, caller, [_reply(0, 11.34)], [(11.4, 15.1), (15.5, 16.0)])
    assert turns[0]["bot_audio_start_s"] == pytest.approx(11.4) and turns[0]["reply_index"] == 0
    assert turns[1]["bot_audio_start_s"] is None and turns[1]["reply_index"] is None
    assert turns[2]["bot_audio_start_s"] is None


def test_a_reply_queued_behind_earlier_audio_counts_from_when_it_began(monkeypatch):
    caller = [(1.0, 2.5), (5.0, 6.5)]
    turns = _turns(monkeypatch, caller, [_reply(0, 3.0), _reply(1, 7.0)], [(3.05, 10.0)])
    assert turns[0]["bot_audio_start_s"] == pytest.approx(3.05)
    assert turns[1]["bot_audio_start_s"] == pytest.approx(7.0) and turns[1]["bot_audio_end_s"] == pytest.approx(10.0)
    assert turns[1]["response_latency_ms"] == pytest.approx(500.0)


def test_a_reply_is_answered_from_its_first_audio_played(monkeypatch):
    turns = _turns(monkeypatch, [(1.0, 2.5)], [_reply(0, 3.1)], [(0.2, 0.4), (3.3, 5.0), (5.2, 6.0)])
    assert turns[0]["bot_audio_start_s"] == pytest.approx(3.3) and turns[0]["bot_audio_end_s"] == pytest.approx(6.0)


def test_a_reply_never_played_leaves_the_turn_unanswered(monkeypatch):
    turns = _turns(monkeypatch, [(1.0, 2.5)], [_reply(0, 3.1)], [(0.2, 0.4)])
    assert turns[0]["bot_audio_start_s"] is None and turns[0]["reply_index"] == 0


def test_a_reply_going_on_with_a_cut_one_answers_no_new_turn(monkeypatch):
    """Seed 9932 (make explore): a close cut the reply to turn 1; the reply the next session was
    asked for to go on with it began after turn 2 ended, and the report counted it as turn 2's
    answer, which no reply on the wire gave."""
    caller = [(0.6, 3.6), (4.8, 7.7)]
    replies = [_reply(0, 4.0), _reply(1, 17.0, goes_on=True)]
    turns = _turns(monkeypatch, caller, replies, [(4.1, 5.0), (17.1, 19.0)])
    assert turns[0]["reply_index"] == 0
    assert turns[1]["bot_audio_start_s"] is None and turns[1]["reply_index"] is None
