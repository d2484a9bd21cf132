from pipecat_gemini_live.call.audio_hold import AudioCounters, AudioHold


def frame(ms: int = 20, rate: int = 16000) -> bytes:
    return bytes(2 * rate * ms // 1000)


def test_holds_in_order_and_counts():
    c = AudioCounters()
    hold = AudioHold(1.0, c)
    for i in range(10):
        hold.hold(bytes([i]) * 640, 16000)
    assert len(hold) == 10 and c.held == 10 and c.dropped == 0
    assert abs(hold.held_s - 0.2) < 1e-9
    assert hold.pop().audio[0] == 0 and hold.pop().audio[0] == 1


def test_bound_drops_oldest_first():
    c = AudioCounters()
    hold = AudioHold(0.1, c)  # five 20 ms frames
    for i in range(8):
        hold.hold(bytes([i]) * 640, 16000)
    assert c.dropped == 3 and len(hold) == 5
    assert hold.pop().audio[0] == 3


def test_push_front_and_discard():
    c = AudioCounters()
    hold = AudioHold(1.0, c)
    hold.hold(frame(), 16000)
    chunk = hold.pop()
    hold.push_front(chunk)
    assert len(hold) == 1
    assert hold.discard() == 1 and c.dropped == 1 and len(hold) == 0
