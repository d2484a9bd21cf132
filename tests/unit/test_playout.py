"""The adaptive playout cushion, on synthetic arrival times (no sockets, no clocks)."""

from __future__ import annotations

from pipecat_gemini_live.call.playout_cushion import PlayoutCushion

CHUNK = 0.04


def deliver(cushion: PlayoutCushion, start: float, gaps: list[float]) -> list[tuple[float, list]]:
    """Feed one reply whose chunks arrive ``gaps`` apart; returns (time, released) per chunk."""
    cushion.start_reply(start)
    t, out = start, []
    for i, gap in enumerate(gaps):
        out.append((t, cushion.feed(i, CHUNK, t)))
        t += gap
    return out


def test_a_reply_that_keeps_up_passes_at_once_and_the_cushion_stays_empty():
    cushion = PlayoutCushion(max_s=1.0)
    out = deliver(cushion, 0.0, [CHUNK] * 20)
    assert all(released == [i] for i, (_, released) in enumerate(out))
    assert cushion.underruns == 0 and cushion.target_s == 0.0 and cushion.added_latency_s == []


def test_an_underrun_grows_the_cushion_for_the_next_reply_within_its_bound():
    cushion = PlayoutCushion(max_s=0.3)
    deliver(cushion, 0.0, [CHUNK] * 5 + [0.2] + [CHUNK] * 5)  # a 160 ms stall mid-reply
    assert cushion.underruns == 1 and 0.16 < cushion.target_s <= 0.3
    out = deliver(cushion, 10.0, [CHUNK] * 10)
    # The next reply is held until the cushion is in hand, then released in one go.
    first = next(i for i, (_, released) in enumerate(out) if released)
    assert out[first][1] == list(range(first + 1)) and (first + 1) * CHUNK >= cushion.target_s
    assert cushion.added_latency_s and cushion.added_latency_s[0] > 0


def test_a_cushion_covers_a_stall_the_size_of_the_last_one():
    cushion = PlayoutCushion(max_s=1.0, start_s=0.3)
    deliver(cushion, 0.0, [CHUNK] * 8 + [0.2] + [CHUNK] * 8)
    assert cushion.underruns == 0  # 300 ms in hand rode out the 160 ms stall


def test_a_cut_reply_drops_what_is_held_and_generation_complete_flushes_it():
    cushion = PlayoutCushion(max_s=1.0, start_s=0.5)
    cushion.start_reply(0.0)
    assert cushion.feed("a", CHUNK, 0.0) == []
    cushion.drop()
    assert cushion.flush(0.1) == []
    cushion.start_reply(1.0)
    cushion.feed("b", CHUNK, 1.0)
    assert cushion.flush(1.05) == ["b"]  # a short reply is not held back until its end


def test_a_zero_bound_disables_it():
    cushion = PlayoutCushion(max_s=0.0)
    deliver(cushion, 0.0, [CHUNK, 0.5, CHUNK])
    assert cushion.target_s == 0.0
