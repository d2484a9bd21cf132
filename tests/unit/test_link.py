"""The seam to the session, without sockets: when input is accepted, the outbox's order, the
take-over's listeners, the end of a call."""

import asyncio
from types import SimpleNamespace

from pipecat_gemini_live.call.link import SessionLink


def session(ready=True):
    return SimpleNamespace(ready=ready)


def test_input_is_accepted_only_by_a_ready_session_while_no_move_holds_it():
    link = SessionLink(max_held_audio_s=5.0)
    assert not link.accepting() and not link.live
    link.session = session(ready=False)
    assert not link.accepting()
    link.session = session()
    assert link.accepting() and link.live
    link.holding = True
    assert not link.accepting() and link.live


def test_the_outbox_delivers_in_order_and_what_defers_again_waits_for_the_next_release():
    link = SessionLink(max_held_audio_s=5.0)
    sent = []

    def make(name, again=False):
        async def send():
            if again and name not in [n for n, _ in sent]:
                sent.append((name, "deferred"))
                link.defer("note", name, make(name))
                return
            sent.append((name, "sent"))

        return send

    link.defer("tool_response", "a", make("a"))
    link.defer("note", "b", make("b", again=True))
    link.defer("turns", "c", make("c"))
    assert [d.kind for d in link.waiting] == ["tool_response", "note", "turns"]
    assert asyncio.run(link.release()) == 0  # audio frames sent
    assert sent == [("a", "sent"), ("b", "deferred"), ("c", "sent")]
    assert [d.payload for d in link.waiting] == ["b"]
    asyncio.run(link.release())
    assert sent[-1] == ("b", "sent") and link.waiting == []


def test_a_take_over_tells_every_listener_in_order():
    link = SessionLink(max_held_audio_s=5.0)
    heard = []
    link.on_session_changed(lambda s: heard.append(("sync", s)))

    async def later(s):
        heard.append(("async", s))

    link.on_session_changed(later)
    new = session()
    asyncio.run(link.activate(new))
    assert link.session is new and heard == [("sync", new), ("async", new)]


def test_the_end_of_a_call_drops_what_waits_and_counts_the_audio():
    link = SessionLink(max_held_audio_s=5.0)
    link.audio.hold(b"\0\0" * 320, 16000)
    link.audio.hold(b"\0\0" * 320, 16000)

    async def never():
        raise AssertionError("not delivered after the call ended")

    link.defer("note", "x", never)
    assert link.forget() == 2
    assert len(link.audio) == 0 and link.waiting == []
    assert link.counters.held == 2


def test_held_audio_and_messages_go_out_in_the_order_they_arrived():
    link = SessionLink(max_held_audio_s=5.0)
    link.session = session()
    out = []

    def message(name):
        async def send():
            assert link.accepting()  # the release itself is accepted
            out.append(name)

        return send

    frame = b"\0\0" * 320
    link.audio.hold(frame, 16000)
    link.defer("text", "t1", message("t1"))
    link.audio.hold(frame, 16000)
    link.audio.hold(frame, 16000)
    link.defer("turns", "t2", message("t2"))

    async def send_audio(chunk):
        out.append(f"audio{chunk.seq}")
        return True

    assert asyncio.run(link.release(send_audio)) == 3
    assert out == ["audio1", "t1", "audio3", "audio4", "t2"]
    assert len(link.audio) == 0 and link.waiting == []


def test_input_arriving_during_a_release_waits_behind_what_was_there():
    link = SessionLink(max_held_audio_s=5.0)
    link.session = session()
    out = []
    frame = b"\0\0" * 320

    async def scenario():
        link.audio.hold(frame, 16000)
        link.audio.hold(frame, 16000)
        seen_by_others = []

        async def other_task():
            # Another helper (typed text) during the release: not accepted, so it waits.
            seen_by_others.append(link.accepting())

            async def send():
                out.append("late text")

            link.defer("text", "late", send)

        async def send_audio(chunk):
            out.append(f"audio{chunk.seq}")
            if chunk.seq == 1:
                await asyncio.create_task(other_task())
                link.audio.hold(frame, 16000)  # a frame the caller's path held meanwhile
            return True

        await link.release(send_audio)
        return seen_by_others

    assert asyncio.run(scenario()) == [False]
    assert out == ["audio1", "audio2", "late text", "audio4"]
    assert link.accepting()


def test_a_replay_goes_before_everything_that_waits_and_a_failed_send_keeps_the_rest():
    from pipecat_gemini_live.call.audio_hold import HeldChunk

    link = SessionLink(max_held_audio_s=5.0)
    link.session = session()
    frame = b"\0\0" * 320
    out = []

    async def note():
        out.append("note")

    link.defer("note", "n", note)
    link.audio.hold(frame, 16000)
    link.audio.push_front(HeldChunk(frame, 16000, replay=True, seq=-1))

    async def fail_after_replay(chunk):
        if not chunk.replay:
            return False
        out.append("replay")
        return True

    assert asyncio.run(link.release(fail_after_replay)) == 1
    assert out == ["replay", "note"] and len(link.audio) == 1


def test_messages_sent_since_the_checkpoint_go_again_ahead_of_what_waits_on_a_resume():
    link = SessionLink(max_held_audio_s=5.0)
    sent = []

    def make(name):
        async def send():
            sent.append(name)

        return send

    link.sent("text", "before", make("before"))
    link.checkpoint()  # the server's handle now covers it
    link.sent("text", "a", make("a"))
    link.sent("tool_response", "b", make("b"))
    link.defer("note", "waiting", make("waiting"))
    assert link.resend_unconfirmed() == 2
    assert [d.payload for d in link.waiting] == ["a", "b", "waiting"]
    link.session = session()
    asyncio.run(link.release())
    assert sent == ["a", "b", "waiting"]
    assert link.resend_unconfirmed() == 0  # queued once


def test_a_move_onto_a_new_session_forgets_what_the_old_one_was_sent():
    # A seeded session gets the conversation from the history; only a resume sends again.
    link = SessionLink(max_held_audio_s=5.0)
    link.sent("text", "a", None)
    asyncio.run(link.activate(session()))
    assert link.resend_unconfirmed() == 0
