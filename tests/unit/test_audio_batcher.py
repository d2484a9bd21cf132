from pipecat_gemini_live.call.audio_batcher import AudioBatcher
from pipecat_gemini_live.call.audio_hold import HeldChunk

FRAME = HeldChunk(bytes(640), 16000)  # 20 ms


def run(batcher, pattern: str) -> list[int]:
    """Sizes (in frames) of the messages sent for a pattern of voiced (v) / quiet (.) frames."""
    sent = []
    for c in pattern:
        if batcher.add(FRAME, c == "v"):
            sent.append(len(batcher.take()))
    return sent


def test_onset_goes_out_at_once_then_speech_is_grouped():
    b = AudioBatcher(speech_batch_s=0.06, quiet_batch_s=0.1, end_window_s=0.1)
    sent = run(b, "." * 20 + "vvvvvv")
    # quiet groups of five frames (100 ms), the onset at once, then groups of three (60 ms)
    assert sent == [5, 5, 5, 5, 1, 3]
    assert len(b.pending) == 2


def test_offset_and_the_end_window_go_frame_by_frame():
    b = AudioBatcher(speech_batch_s=0.06, quiet_batch_s=0.1, end_window_s=0.1)
    run(b, "vvv")
    sent = run(b, "v.....")
    # the last speech frame goes with the offset frame, then every frame of the 100 ms window alone
    assert sent[0] >= 1 and sent[1:5] == [1, 1, 1, 1]


def test_long_silence_is_grouped_and_the_next_onset_flushes():
    b = AudioBatcher(speech_batch_s=0.06, quiet_batch_s=0.1, end_window_s=0.0)
    sent = run(b, "." * 12)
    assert sent == [5, 5]
    assert run(b, "v") == [3]  # two pending quiet frames plus the onset, at once


def test_rate_change_cannot_join():
    b = AudioBatcher()
    b.add(FRAME, False)
    assert b.can_join(16000) and not b.can_join(8000)
