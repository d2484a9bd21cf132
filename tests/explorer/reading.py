"""How the checks in :mod:`.invariants` read one call: which replies answer which caller
sentences, the turns the caller's sentences form, what the call still owed when it ended, and
when caller audio reached no session. Readings only; the judging is the invariants'."""

from __future__ import annotations

from typing import Any

from gemini_live_emulator.model.conversation import persona_label

from .observation import HeardReply, Observation, WireReply


def same_reply(wire: WireReply, heard: HeardReply) -> bool:
    """Whether a played reply is this answer: its transcript so far is a start of the answer's
    words. (Session numbers differ between the two sides: a connect the server refused has a
    service session but no emulator record.)"""
    played, said = " ".join(heard.text.split()), " ".join(wire.text.split())
    return said.startswith(played) or played.startswith(said)


def playbacks(obs: Observation, answer: WireReply) -> list[HeardReply]:
    """The replies the service played that are ``answer`` (begun within 1.5 s of it)."""
    return [h for h in obs.heard if answer.at_s - 0.3 <= h.at_s <= answer.at_s + 1.5 and same_reply(answer, h)]


def persona_at(personas: list[tuple[float, str]], t: float) -> str:
    """The persona in force at ``t`` (call seconds), from ``(from when, label)`` pairs."""
    current = personas[0][1]
    for at, label in personas:
        if at <= t:
            current = label
    return current


# The retry budget is about 30 s of backoff from the first failed connect; the service gives up
# when the next wait (up to 8 s, jittered by a quarter) would pass it, so its last attempt opens
# at least about 18 s (call time) after the first.
OUTAGE_S = 18.0


def failing_connects(obs: Observation) -> list[Any]:
    """The trailing run of connections the server ended (or dropped, or stalled at setup) before
    any reply: an outage still going on when the call ended or gave up."""
    run: list[Any] = []
    for r in obs.records:
        failed = not r.replies and (r.server_close_code in (1000, 1011) or r.client_close_code is None)
        # A setup the server stalled, which the client gave up waiting for (seed 9429: the only
        # other connect of the call was refused, and the call ended in the retry's backoff).
        stalled_setup = "stall" in r.extra.get("faults", ()) and set(r.counts) <= {"setup"}
        run = run + [r] if failed or stalled_setup else []
    return run


def justified_fatal(obs: Observation) -> bool:
    """Whether the faults that fired may end the call: a second 1007, a 1008, or connects
    refused for about half a minute of backoff."""
    codes = [r.server_close_code for r in obs.records]
    if codes.count(1007) >= 2 or 1008 in codes:
        return True
    failed = failing_connects(obs)
    return len(failed) >= 2 and (failed[-1].opened_at - failed[0].opened_at) * obs.speed >= OUTAGE_S


def cutoff(obs: Observation) -> float:
    """From when on the call owes nothing: its end, a hang-up, or a justified fatal error."""
    t = obs.end_s
    if obs.hangup_s is not None:
        t = min(t, obs.hangup_s)
    fatal = [at for at, _, ending in obs.errors if ending]
    if fatal:
        t = min(t, fatal[0])
    return t


def left_behind(obs: Observation, reply: WireReply) -> bool:
    """Whether ``reply`` was begun by a session the call had already left, cut there and never
    played: a later connection had taken caller audio before it began (make explore seed
    10540: a goAway with too little time to wait moved the call 0.1 s before the old
    session's answer, which the service ends, by design, replaying the sentence to the new
    session). Such a reply answers nothing the caller could hear. One the service played
    (an old session finishing its answer through a hand-over) stays an answer."""
    moved = any(index > reply.session and at <= reply.at_s for index, at in obs.audio_from.items())
    return moved and not reply.complete and not playbacks(obs, reply)


def callers_answers(obs: Observation) -> list[WireReply]:
    """The replies that answer caller speech, in wire order, less those :func:`left_behind`."""
    return [r for r in obs.wire_replies if r.is_answer and not left_behind(obs, r)]


def answers_earlier_sentence(obs: Observation, reply: WireReply, start: float) -> bool:
    """Whether ``reply`` quotes the result of a function called before ``start`` (a sentence's
    start): it answers the sentence that asked, not the one said while the function ran."""
    if not reply.answers_a_function_result:
        return False
    called = [c.at_s for c in obs.tool_calls if c.at_s <= reply.at_s]
    return bool(called) and max(called) < start


def turns(obs: Observation, budget: float) -> list[list[int]]:
    """Utterances grouped into turns: the next utterance joins when no answer to this one began
    before it and it started within the budget (the caller went on before the bot was due).
    A reply quoting a function's result answers the sentence that asked, so it does not end a
    sentence said while the function ran (make explore seed 10734: a long sentence asked, a
    card was said while the function ran and the result's reply began just after the same card
    was said again; the model then answered each card, and the checks took the result's reply
    for the first card's answer and both cards' answers for the second's)."""
    answers = callers_answers(obs)
    groups: list[list[int]] = []
    i = 0
    while i < len(obs.utterances):
        g = [i]
        while g[-1] + 1 < len(obs.utterances):
            (begun, end), nxt = obs.utterances[g[-1]], obs.utterances[g[-1] + 1][0]
            answered = any(
                end - 0.1 < r.at_s <= nxt + 0.3 and not answers_earlier_sentence(obs, r, begun) for r in answers
            )
            if answered or nxt - end > budget:
                break
            g.append(g[-1] + 1)
        groups.append(g)
        i = g[-1] + 1
    return groups


def busy_until(obs: Observation, end: float, first: WireReply | None, budget: float) -> float:
    """When the model was free to answer a turn that ended at ``end``: replies it was still
    streaming (a long answer, an answer queued before this one) come first."""
    pace = getattr(obs.timeline, "pace", 1.0) or 1.0
    busy = end
    for r in obs.wire_replies:
        if left_behind(obs, r):
            continue
        if r is first:
            break
        if r.at_s <= busy + budget:
            busy = max(busy, r.at_s + r.audio_s / pace)
    return busy


STAYED = "switch failed; staying on the current session"  # the service's ErrorFrame text


def stayed_persona(obs: Observation, t: float) -> str | None:
    """The persona the call stayed in at ``t`` because a switch away from it failed: a server
    that refuses every new session leaves the service the session it has, and it answers the
    caller there (no dead air while it tries the switch again) and says so in an
    ``ErrorFrame`` (make explore seed 10624: six refused setups). None when no switch failed
    since the call's session took effect."""
    applied = [s for s in obs.switches if s.ok and s.applied_s is not None and s.applied_s <= t]
    if not applied:
        return None
    current = max(applied, key=lambda s: s.applied_s)
    failed = any(STAYED in text and current.applied_s <= at <= t for at, text, _ in obs.errors)
    return persona_label(current.system_instruction) if failed else None


def longest_outage(obs: Observation) -> float:
    """The longest stretch of call time in which caller audio reached no session, seconds.

    The longer of what the switches report (each from its request to its new session ready)
    and the gaps between the connections' audio windows on the wire, the call's start
    included; an outage at the end is :func:`trailing_outage`'s. A switch requested during an
    outage reports its gap from its request (seed 9819: persona changes while the first
    connect was refused for 25 s), so the wire sees the outage whole.
    """
    by_switches = max(((s.switch_gap_ms or 0.0) / 1000.0 * obs.speed for s in obs.switches), default=0.0)
    longest, covered_to = 0.0, 0.0
    for start, stop in sorted(obs.audio_windows):
        longest = max(longest, start - covered_to)
        covered_to = max(covered_to, stop)
    return max(by_switches, longest)


def trailing_outage(obs: Observation) -> float:
    """How long before the call's end caller audio last reached a session, seconds: the whole
    call when no connection ever took audio."""
    if not obs.audio_windows:
        return obs.end_s if obs.received_s == 0 else 0.0
    return max(0.0, obs.end_s - max(stop for _, stop in obs.audio_windows))
