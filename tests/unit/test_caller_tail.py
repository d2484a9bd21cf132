from pipecat_gemini_live.call.replay_buffer import CallerTail

VOICE, QUIET = b"\x10\x27" * 320, b"\x00\x00" * 320  # 20 ms at 16 kHz
PAUSE = "." * 8  # 160 ms: the caller stopped before the reply began (CallerTail.SPEAKING_S)


def feed(tail, pattern: str):
    for c in pattern:
        tail.sent(VOICE if c == "v" else QUIET, 16000, c == "v")


def test_unanswered_speech_runs_from_the_first_unanswered_utterance():
    tail = CallerTail(utterance_gap_s=0.1)
    feed(tail, "vvv" + PAUSE)
    tail.reply_started()
    feed(tail, "....." + "vv")
    assert len(tail.unanswered_utterance()) == 2
    feed(tail, "..")
    assert len(tail.unanswered_utterance()) == 4  # trailing silence after the utterance comes too
    feed(tail, "....." + "v")
    # Two sentences no reply has answered yet: both are owed, so both would be replayed.
    assert len(tail.unanswered_utterance()) == 2 + 7 + 1


def test_a_resumed_reply_covers_speech_after_its_function_call_only_once_finished():
    # Explorer seed 9201: the caller spoke while a tool call was pending; the reply that went on
    # after the result was cut by a goAway, and the speech was owed to the next session.
    tail = CallerTail(utterance_gap_s=0.1, covered_window_s=0.0)
    feed(tail, "vvvv")
    tail.reply_started()  # "let me check"
    tail.function_called()
    feed(tail, "......vv")
    tail.reply_started()  # the reply resumes with the result
    assert len(tail.unanswered_utterance()) == 2
    assert tail.unanswered_for() is not None
    tail.reply_finished()
    assert tail.unanswered_utterance() == []


def test_speech_while_a_function_runs_is_apart_from_the_words_that_called_it():
    # Explorer seed 9201 replayed with recognition: the model called the function
    # without a word first, the caller spoke while it ran, and the resumed reply was cut.
    tail = CallerTail(utterance_gap_s=0.1, covered_window_s=0.0)
    feed(tail, "vvvv")
    tail.function_called()
    feed(tail, "......vv")
    tail.reply_started()
    assert len(tail.unanswered_utterance()) == 2  # only the words after the call are owed
    tail.reply_finished()
    assert tail.unanswered_utterance() == []


def test_a_resumed_reply_answers_what_was_said_before_the_call():
    tail = CallerTail(utterance_gap_s=0.1)
    feed(tail, "vvvv")
    tail.function_called()  # no words before the call
    feed(tail, "..")
    tail.reply_started()
    assert tail.unanswered_utterance() == []


def test_speech_after_a_resumed_reply_began_is_not_covered_by_it():
    tail = CallerTail(utterance_gap_s=0.1)
    tail.function_called()
    feed(tail, "vv")
    tail.reply_started()
    feed(tail, "......vv")  # the caller speaks again while it plays
    tail.reply_finished()
    assert len(tail.unanswered_utterance()) == 2 + 6 + 2


def test_a_reply_answers_the_utterance():
    tail = CallerTail(utterance_gap_s=0.1)
    feed(tail, "vvvv" + PAUSE)
    tail.reply_started()
    assert tail.unanswered_utterance() == []
    feed(tail, "......vv")
    assert len(tail.unanswered_utterance()) == 2


def test_since_checkpoint_and_bound():
    tail = CallerTail(max_s=0.2, utterance_gap_s=0.1)  # ten chunks
    feed(tail, "vv")
    tail.checkpoint()
    feed(tail, "...")
    assert len(tail.since_checkpoint()) == 3
    feed(tail, "." * 20)
    assert len(tail.since_checkpoint()) == 10  # bounded, latest kept
    tail.reset()
    assert tail.since_checkpoint() == [] and tail.unanswered_utterance() == []


def test_a_reply_cut_before_it_was_heard_leaves_the_speech_owed():
    # Explorer seed 9505: a tools change was being applied when the old session began its
    # answer; the switch cut it before any audio played, and the sentence must go to the new one.
    tail = CallerTail(utterance_gap_s=0.1)
    feed(tail, "..vvvv" + PAUSE)
    tail.reply_started()
    assert tail.unanswered_utterance() == []
    feed(tail, "......vv")  # the caller goes on meanwhile: a new utterance
    tail.reply_withdrawn()
    assert len(tail.unanswered_utterance()) == 4 + 8 + 6 + 2  # both, from the first one's start
    tail.reply_withdrawn()  # only the reply that began last is withdrawn, once
    assert len(tail.unanswered_utterance()) == 20


def test_withdrawing_a_reply_that_answered_nothing_owes_nothing():
    tail = CallerTail(utterance_gap_s=0.1)
    feed(tail, "vv" + PAUSE)
    tail.reply_started()
    tail.reply_finished()
    tail.reply_started()  # the model goes on by itself
    tail.reply_withdrawn()
    assert tail.unanswered_utterance() == []


def test_speech_a_resumed_reply_was_assumed_to_cover_is_replayed_for_a_while():
    # Seed 9201, a third time: the model answers the words said during the function separately,
    # after the resumed reply; a goAway resume in between, with a handle issued as that reply
    # ended, must still carry them.
    tail = CallerTail(utterance_gap_s=0.1, covered_window_s=60.0)
    feed(tail, "vvvv")
    tail.function_called()
    feed(tail, "......vv")
    tail.reply_started()
    feed(tail, "...")
    tail.reply_finished()
    tail.checkpoint()  # the handle that comes with the resumed reply's turnComplete
    assert tail.unanswered_for() is None  # no answer is awaited: a goAway may move now
    assert len(tail.since_checkpoint()) == 0
    assert len(tail.for_resume()) == 2 + 3 and len(tail.unanswered_utterance()) == 5
    tail.reply_started()  # the model answers them after all
    assert tail.for_resume() == [] and tail.unanswered_utterance() == []
    tail.reply_withdrawn()  # ... but a switch cut that answer before it was heard
    assert len(tail.for_resume()) == 5


def test_speech_a_resumed_reply_covered_is_not_replayed_after_the_window():
    tail = CallerTail(utterance_gap_s=0.1, covered_window_s=0.0)
    tail.function_called()
    feed(tail, "vv")
    tail.reply_started()
    tail.reply_finished()
    tail.checkpoint()
    assert tail.for_resume() == [] and tail.unanswered_utterance() == []


def test_a_resume_replays_unanswered_speech_from_before_its_checkpoint():
    tail = CallerTail(utterance_gap_s=0.1)
    feed(tail, "..vvv")
    tail.checkpoint()  # a handle issued while the sentence waited for its answer
    feed(tail, "..")
    assert len(tail.since_checkpoint()) == 2
    assert len(tail.for_resume()) == 3 + 2


def test_a_reply_after_the_server_withdrew_the_call_answers_outright():
    # Explorer seed 9918: the caller spoke over a pending call on a model that cancels it
    # (toolCallCancellation); the next reply answered those words, not a function result. Kept
    # owed as if a resumed reply covered them, a goAway move right after it replayed them and
    # the next session answered them again.
    tail = CallerTail(utterance_gap_s=0.1, covered_window_s=60.0)
    feed(tail, "vvvv")
    tail.function_called()
    feed(tail, "......vv" + PAUSE)
    tail.function_cancelled()
    tail.reply_started()
    assert tail.unanswered_utterance() == [] and tail.unanswered_for() is None
    tail.reply_withdrawn()  # cut before it was heard: the words are owed again
    assert len(tail.unanswered_utterance()) == 2 + 8
    tail.reply_started()
    tail.reply_finished()
    tail.checkpoint()
    assert tail.for_resume() == [] and tail.unanswered_utterance() == []


def test_speech_soon_after_a_function_call_is_a_new_sentence():
    # The caller paused under the utterance gap, the model called a function in that pause,
    # and the caller went on: those words are not the ones the call acted on (a goAway that
    # cut the resumed reply left them unanswered, make explore seed 10116 replayed).
    tail = CallerTail(utterance_gap_s=0.2)
    feed(tail, "vvvv.")
    tail.function_called()
    feed(tail, ".vv")
    tail.reply_started()  # the reply that resumes with the result
    assert len(tail.unanswered_utterance()) == 2
    tail.reply_finished()
    assert len(tail.unanswered_utterance()) == 2  # within the covered window


def test_a_reply_that_begins_while_the_caller_speaks_answers_the_sentence_only_once_finished():
    # The reply to a function result began while the caller was mid-sentence; the model queued
    # the sentence behind it, and a goAway that closed the session lost it (explorer seed
    # 10300's GOAWAY_LOOP replay). The sentence stays owed while that reply plays.
    tail = CallerTail(utterance_gap_s=0.1, covered_window_s=0.0)
    feed(tail, "vvvv")
    tail.reply_started()  # mid-sentence
    feed(tail, "vv" + PAUSE)
    assert len(tail.unanswered_utterance()) == 6 + 8 and tail.unanswered_for() is not None
    tail.reply_finished()
    assert tail.unanswered_utterance() == []


def test_a_muted_mic_is_not_a_caller_speaking(monkeypatch):
    # No audio flows while a mic is muted: a reply after the caller's last words answers them.
    from pipecat_gemini_live.call import replay_buffer

    now = [100.0]
    monkeypatch.setattr(replay_buffer.time, "monotonic", lambda: now[0])
    tail = CallerTail(utterance_gap_s=0.1)
    feed(tail, "vvvv")
    assert tail.caller_speaking()
    now[0] += 0.5
    assert not tail.caller_speaking()
    tail.reply_started()
    assert tail.unanswered_utterance() == []
