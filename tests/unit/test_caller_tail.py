from pipecat_gemini_live.call.replay_buffer import CallerTail

VOICE, QUIET = b"\x10\x27" * 320, b"\x00\x00" * 320  # 20 ms at 16 kHz


def feed(tail, pattern: str):
    for c in pattern:
        tail.sent(VOICE if c == "v" else QUIET, 16000, c == "v")


def test_unanswered_utterance_is_the_latest_one_from_its_start():
    tail = CallerTail(utterance_gap_s=0.1)
    feed(tail, "vvv" + "....." + "vv")
    assert len(tail.unanswered_utterance()) == 2
    feed(tail, "..")
    assert len(tail.unanswered_utterance()) == 4  # trailing silence after the utterance comes too


def test_a_reply_answers_the_utterance():
    tail = CallerTail(utterance_gap_s=0.1)
    feed(tail, "vvvv")
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
