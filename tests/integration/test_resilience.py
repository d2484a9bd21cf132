"""Calls that outlive their connections: goAway hand-overs, refused connects, session limits."""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import InputTextRawFrame
from pipecat.services.google.gemini_live.llm import ContextWindowCompressionParams, GeminiLiveLLMSettings

from pipecat_gemini_live import GeminiLiveLLMService, LiveOptions, RetryPolicy
from gemini_live_emulator import EmulatorConfig, LiveEmulator
from gemini_live_emulator.faults import Fault

from ..conftest import build_call
from .call_helpers import run_call

M25 = "gemini-2.5-flash-native-audio-preview-09-2025"
# Three caller turns with room for the bot's answers; with a 6 s connection lifetime and goAway
# 2.5 s ahead, the call outlives two or three connections.
TURNS = [0.3, "cards_001.wav", 5.0, "cards_003.wav", 5.0, "cards_001.wav", 3.0]


def remembered(text: str) -> int:
    words = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    for i, word in enumerate(words):
        if f"remember {word} earlier" in text:
            return i
    return -1


def answered_turns(replies) -> int:
    return sum("heard you for" in r.text for r in replies)


async def go_away_call(tmp_path, strategy: str):
    wav = build_call(tmp_path / "in.wav", TURNS)
    config = EmulatorConfig(think_ms=100, pace=2.0, lifetime_s=6.0, goaway_before_s=2.5)
    async with LiveEmulator(config) as emu:
        result = await run_call(
            emu, wav, tmp_path / "out.wav", model=M25, options=LiveOptions(goaway_strategy=strategy)
        )
        await asyncio.sleep(0.1)
        return result, list(emu.records)


async def test_go_away_resumes_at_a_turn_boundary(tmp_path):
    result, records = await go_away_call(tmp_path, "resume")
    svc = result.service
    moves = [s for s in svc.handover.records if s.reason == "goaway"]
    # Resumed at a turn boundary; a goAway that lands mid-reply with no boundary before the
    # deadline (likely with a 2.5 s lead) moves by re-seeding instead.
    assert len(moves) >= 2 and all(s.ok for s in moves), moves
    assert sum(s.method == "resume" for s in moves) >= 2 and {s.method for s in moves} <= {"resume", "handover"}
    # Moved before the server's close: no reconnects, no lifetime closes seen by the call.
    assert not [s for s in svc.handover.records if s.reason == "reconnect"]
    assert all(r.server_close_code is None for r in records), [(r.index, r.server_close_code, r.close_reason) for r in records if r.server_close_code]
    assert answered_turns(svc.replies) == 3 and not any(r.interrupted for r in svc.replies)
    assert svc.audio_counters.dropped == 0
    # The conversation went along: the last answer remembers the two exchanges before it.
    assert remembered(svc.replies[-1].text) >= 4, svc.replies[-1].text
    # The resumed sessions restored the conversation from their handles.
    assert sum(bool(r.resumed_from) for r in records[1:]) == sum(s.method == "resume" for s in moves)
    gaps = [s.switch_gap_ms for s in moves]
    assert max(gaps) < 1000, gaps  # gross limit; the seam is measured in the bench


async def test_go_away_by_reseeding_is_ready_before_the_old_connection_closes(tmp_path):
    result, records = await go_away_call(tmp_path, "reseed")
    svc = result.service
    moves = [s for s in svc.handover.records if s.reason == "goaway"]
    assert len(moves) >= 2 and all(s.ok and s.method == "handover" for s in moves), moves
    assert answered_turns(svc.replies) == 3 and svc.audio_counters.dropped == 0
    # 2.5 seeds end with a user turn, so each re-seed adds one to the count.
    assert remembered(svc.replies[-1].text) >= 4, svc.replies[-1].text
    # Make before break: each new connection was set up while its predecessor was still open.
    for old, new in zip(records, records[1:]):
        assert new.opened_at < old.closed_at, (old.index, new.index)


async def test_connects_refused_beyond_the_retry_budget_end_the_call_with_a_reason(tmp_path):
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 2.0])
    async with LiveEmulator(EmulatorConfig(faults=["refuse:10"])) as emu:
        result = await asyncio.wait_for(
            run_call(
                emu,
                wav,
                tmp_path / "out.wav",
                model=M25,
                retry=RetryPolicy(max_attempts=3, initial_delay_s=0.05, max_delay_s=0.2),
            ),
            60,
        )
    assert emu.refused == 3
    assert any("could not open a Live session after 3 attempt(s)" in e and "503" in e for e in result.errors), result.errors
    assert result.service.replies == []


async def test_compression_is_requested_unless_turned_off(tmp_path):
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 2.0])
    async with LiveEmulator(EmulatorConfig(think_ms=100, pace=2.0)) as emu:
        await run_call(emu, wav, tmp_path / "a.wav", model=M25)
        off = GeminiLiveLLMSettings(context_window_compression=ContextWindowCompressionParams(enabled=False))
        await run_call(emu, wav, tmp_path / "b.wav", model=M25, settings=off)
        setups = [r.setup for r in emu.records]
    assert "slidingWindow" in str(setups[0].get("contextWindowCompression")) or "sliding_window" in str(
        setups[0].get("contextWindowCompression")
    )
    assert "contextWindowCompression" not in setups[1]
    assert all(s.get("sessionResumption") is not None for s in setups)  # resumption always requested


async def test_a_go_away_between_a_caller_turn_and_its_answer_waits_for_the_answer(tmp_path):
    # The caller finishes at about 1.4 s; the model thinks for 2 s before answering; goAway comes
    # at 2.5 s, in between. The caller is quiet and the bot silent, but that is no turn boundary:
    # moving then leaves the answer to a resumed session, which must be replayed the turn and
    # answers a setup round trip later (if the server does at all). The call moves once the
    # answer has been given.
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 9.0])
    config = EmulatorConfig(think_ms=2000, lifetime_s=40.0, goaway_before_s=37.5)
    async with LiveEmulator(config) as emu:
        result = await run_call(emu, wav, tmp_path / "out.wav", model=M25)
    svc = result.service
    moves = [s for s in svc.handover.records if s.reason == "goaway"]
    assert moves and all(s.ok for s in moves), moves
    assert answered_turns(svc.replies) == 1, [r.text for r in svc.replies]
    # Answered, whole, by the session that heard the turn; the move came after.
    first = svc.replies[0]
    assert first.session_index == 0 and not first.interrupted, first


async def test_a_resume_whose_connect_is_refused_retries_instead_of_ending_the_call(tmp_path):
    """A goAway resume breaks before it makes: once the old connection is closed the call has no
    session to stay on, so a refused connect is retried with backoff (it ended the call)."""
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 5.0, "cards_003.wav", 3.0])
    config = EmulatorConfig(think_ms=100, pace=2.0, lifetime_s=6.0, goaway_before_s=2.5)
    async with LiveEmulator(config) as emu:

        async def refuse_the_resume():
            # Armed once the first session is up: the next connect is the goAway's resume.
            while not (emu.records and emu.records[0].setup is not None):
                await asyncio.sleep(0.05)
            emu.faults.add(Fault(kind="refuse", count=1))

        arming = asyncio.create_task(refuse_the_resume())
        result = await run_call(
            emu, wav, tmp_path / "out.wav", model=M25,
            options=LiveOptions(goaway_strategy="resume"), retry=RetryPolicy(initial_delay_s=0.1),
        )  # fmt: skip
        await arming
        refused = emu.refused
    svc = result.service
    assert refused == 1
    (first_move, *_) = [s for s in svc.handover.records if s.reason == "goaway"]
    assert first_move.ok and first_move.attempts >= 2, first_move
    assert not [e for e in result.errors if "no session for the call" in e], result.errors
    assert answered_turns(svc.replies) == 2 and svc.audio_counters.dropped == 0


async def test_a_reply_that_begins_as_a_goaway_resume_starts_ends_and_the_new_session_answers_in_its_own(tmp_path):
    """The watchdog found a turn boundary and asked for a resume; the old session began its
    answer before the move closed it (explorer seed 9201's timeline on a loaded machine: the
    reply that went on after a function result). That reply ends at the move, barely heard, so
    its sentence is owed again and replayed; the resumed session's answer is a reply of its
    own. It ran on as the old reply before: one record for both, and no start, which is what
    marks the caller's words answered."""
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 8.0])
    async with LiveEmulator(EmulatorConfig(think_ms=100)) as emu:
        svc = GeminiLiveLLMService(
            api_key=emu.api_key, http_options=emu.http_options(), model=M25,
            options=LiveOptions(goaway_strategy="resume"),
        )  # fmt: skip

        async def resume_as_the_reply_begins():
            while not svc.replies:
                await asyncio.sleep(0.002)
            # What the watchdog asks for at a turn boundary.
            await svc.call.request_switch("goaway", resume=True, force_new=True, gentle=True)

        moving = asyncio.create_task(resume_as_the_reply_begins())
        result = await run_call(emu, wav, tmp_path / "out.wav", service=svc)
        await moving
        records = list(emu.records)
    moves = [s for s in svc.handover.records if s.reason == "goaway"]
    assert len(moves) == 1 and moves[0].ok and moves[0].method == "resume", moves
    assert len(records) == 2 and records[1].resumed_from, [(r.index, r.resumed_from) for r in records]
    first, *rest = result.service.replies
    assert first.session_index == 0 and first.interrupted, first
    assert first.text in records[0].replies[0].text, (first, records[0].replies)
    [answer] = [r for r in records[1].replies if "I heard you for" in r.text]  # the sentence, replayed
    assert [r.text for r in rest] == [answer.text] and not rest[0].interrupted, (rest, records[1].replies)
    assert rest[0].session_index == 1


async def test_a_new_session_that_drops_before_it_takes_over_is_replaced(tmp_path):
    """A goAway lands mid-reply: the new session is opened at once and waits for the reply to
    end, and drops meanwhile (make explore seed 10300, timeline #14: a drop 0.5 s into a
    goAway's new session). The move opens another session and goes on; it failed before, with
    an error, and the call was left to reconnect after the old connection closed (or, with no
    reconnect queued, ended)."""
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 8.0, "cards_003.wav", 4.0])
    config = EmulatorConfig(think_ms=100, pace=1.0, lifetime_s=6.0, goaway_before_s=2.5, faults=["drop@t=0.3#1"])
    async with LiveEmulator(config) as emu:
        result = await run_call(
            emu, wav, tmp_path / "out.wav", model=M25,
            options=LiveOptions(goaway_strategy="reseed"), retry=RetryPolicy(initial_delay_s=0.1),
        )  # fmt: skip
        await asyncio.sleep(0.1)
        records = list(emu.records)
    svc = result.service
    first_move = next(s for s in svc.handover.records if s.reason == "goaway")
    assert first_move.ok and first_move.session_index == 2, first_move
    assert records[1].extra.get("faults") == ["drop"] and not records[1].replies
    assert not [e for e in result.errors if "switch failed" in e or "no session" in e], result.errors
    assert not [s for s in svc.handover.records if s.reason == "reconnect"]
    assert answered_turns(svc.replies) == 2 and svc.audio_counters.dropped == 0


async def test_a_resume_sends_again_what_the_old_session_got_after_its_handle(tmp_path):
    """A handle restores the server as it was when it issued it: typed text (or a note, or a
    function result) sent after the last handle is not in the resumed session, which then
    never answered it (the explorer's GOAWAY_LOOP timeline on a loaded machine: a function
    result sent just before a goAway resume). A resume sends such messages again."""
    wav = build_call(tmp_path / "in.wav", [0.3, "cards_001.wav", 9.0])
    typed = "What is the weather like in Paris?"
    async with LiveEmulator(EmulatorConfig(think_ms=800, pace=4.0)) as emu:
        svc = GeminiLiveLLMService(
            api_key=emu.api_key, http_options=emu.http_options(), model=M25,
            options=LiveOptions(goaway_strategy="resume"),
        )  # fmt: skip

        async def resume_once_the_text_is_in():
            while not (emu.records and emu.records[0].texts):
                await asyncio.sleep(0.002)
            # What the watchdog asks for at a turn boundary; the model is still thinking.
            await svc.call.request_switch("goaway", resume=True, force_new=True, gentle=True)

        moving = asyncio.create_task(resume_once_the_text_is_in())
        result = await run_call(emu, wav, tmp_path / "out.wav", service=svc, at=[(5.0, InputTextRawFrame(text=typed))])
        await moving
        records = list(emu.records)
    moves = [s for s in svc.handover.records if s.reason == "goaway"]
    assert len(moves) == 1 and moves[0].ok and moves[0].method == "resume", moves
    assert records[0].texts == [typed] and not any(typed in r.text for r in records[0].replies)
    assert records[1].resumed_from and records[1].texts == [typed], records[1].texts
    assert any(typed in r.text for r in result.service.replies), [r.text for r in result.service.replies]
