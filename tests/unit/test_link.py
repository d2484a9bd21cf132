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


def test_the_outbox_delivers_in_order_and_what_defers_again_waits_for_the_next_flush():
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
    assert asyncio.run(link.flush_outbox()) == 3
    assert sent == [("a", "sent"), ("b", "deferred"), ("c", "sent")]
    assert [d.payload for d in link.waiting] == ["b"]
    asyncio.run(link.flush_outbox())
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
