"""What must hold after every call, judged from the emulator's records, not the service's beliefs.

A caller *utterance* is a speech segment of what the server could hear (the recording less the
muted windows, cut by the emulator's own energy VAD). Utterances the caller strings together
before the bot was due to answer form one *turn* (a real model merges them too). An *answer* is
a reply the emulated model composed for caller audio ("I heard you for ..."), with the
call-clock time it first appeared on the wire.

Invariants (each violation is its own exception type, so hypothesis keeps distinct failures
apart):

- every turn is answered within the timeline's latency budget, by the persona in force when it
  ended (or by one set before the answer began, or the one the call stayed in when the switch
  away from it failed and the service said so), unless the call ended first: a hang-up, or a
  fatal error the faults justify (a second 1007, a 1008); and the caller hears that answer
  (the service plays a reply from the same session as it begins, not a silent one), or, when
  the call left that session before the answer's audio came, the next session's answer;
- no turn gets two complete answers; every sentence of a turn reaches an answer (its answers
  heard all of its speech); no fatal error the faults do not justify;
- caller audio lost is within ``LiveOptions.max_held_audio_s``;
- every tool call is answered: by id, by being withdrawn (``toolCallCancellation``), as a note
  to a later session when its own one is gone, or the call ended before the handler finished;
- a call ended by an error ends promptly (the pipeline stops; the caller is not left on a dead
  line until the recording runs out);
- every connection is closed within a bounded wait after the pipeline ends, no task of the
  service is left running, and the call itself ends;
- each turn the report counts as answered was answered on the wire;
- the bot never talks on its own: a reply cut by its connection closing is taken up at most
  once per caller utterance.
"""

from __future__ import annotations

from pipecat_gemini_live import LiveOptions, RetryPolicy

from .observation import ANSWER, RATE_BYTES, Observation
from .reading import (
    busy_until,
    callers_answers,
    cutoff,
    failing_connects,
    justified_fatal,
    longest_outage,
    persona_at,
    playbacks,
    stayed_persona,
    trailing_outage,
    turns,
)

BASE_LATENCY_S = 3.0  # end of speech -> answer, call time: VAD silence, think, a setup or two
WALL_SLACK_S = 1.0  # wall seconds a busy machine (two cores, a whole test suite) may add
LINGER_S = 3.0  # a call-ending error -> the pipeline stopped, call time


class InvariantViolation(AssertionError):
    """Base of every violation."""


class UnansweredTurn(InvariantViolation):
    pass


class UnheardAnswer(InvariantViolation):
    pass


class DeadCallLingers(InvariantViolation):
    pass


class Monologue(InvariantViolation):
    pass


class WrongPersona(InvariantViolation):
    pass


class DuplicateAnswer(InvariantViolation):
    pass


class UnjustifiedCallEnd(InvariantViolation):
    pass


class AudioLost(InvariantViolation):
    pass


class ToolCallUnanswered(InvariantViolation):
    pass


class ConnectionLeftOpen(InvariantViolation):
    pass


class TaskLeftRunning(InvariantViolation):
    pass


class CallNeverEnded(InvariantViolation):
    pass


class LostSentence(InvariantViolation):
    """A turn of several sentences whose answers heard less speech than the caller said."""


class ReportDisagrees(InvariantViolation):
    pass


def latency_budget(tl, speed: float = 1.0) -> float:
    """Longest acceptable wait (call time) from the end of a turn to its answer, for ``tl``.

    The base covers VAD silence, think time and a setup round trip, plus ``WALL_SLACK_S`` of
    wall-clock time (scaled to call time by ``speed``) for a loaded machine; each disruption in
    the timeline adds what the service's own defaults allow it (stall watchdog, retry backoff,
    slow setups, tool handlers, the quiet-input end).
    """
    opts, retry = LiveOptions(), RetryPolicy()
    budget = BASE_LATENCY_S + WALL_SLACK_S * speed
    faults = list(getattr(tl, "faults", ()))
    if any(f.startswith("stall") for f in faults):
        budget += (opts.stall_timeout_s or 0) + 2.0
    if any(f.startswith(("close", "drop", "refuse")) for f in faults):
        # The longest backoff the failed connects in the timeline can cost (each wait at its
        # full jitter); a close mid-call costs one wait at most.
        failed = sum(
            int(f.split(":")[1].split("#")[0]) if f.startswith("refuse") else 1
            for f in faults
            if f.startswith(("refuse", "close:1011@setup"))
        )
        budget += sum(
            min(retry.initial_delay_s * 2**k + retry.jitter_s, retry.max_delay_s) for k in range(max(1, failed))
        ) + 2.0
    for f in faults:
        if f.startswith("slow_setup"):
            budget += float(f.split(":")[1].split("#")[0])
        elif f.startswith("stall"):
            budget += float(f.split(":")[1].split("@")[0])
    if getattr(tl, "lifetime", None):
        budget += 2.0
    if getattr(tl, "tool_turns", ()):
        budget += tl.tool_delay + 1.0
    events = getattr(tl, "events", ())
    if any(e.kind == "mute" for e in events):
        # The quiet-input end runs unscaled (wall seconds; see driver.scaled_options).
        budget += (opts.audio_stream_end_after_s or 0) * speed + max(e.arg for e in events if e.kind == "mute")
    budget += 1.5 * sum(e.kind in ("persona", "tools", "settings") for e in events)
    return budget


def check_turns(obs: Observation, budget: float) -> None:
    answers = callers_answers(obs)
    stop = cutoff(obs)
    groups = turns(obs, budget)
    for k, g in enumerate(groups):
        start, end = obs.utterances[g[0]][0], obs.utterances[g[-1]][1]
        if end > stop:
            return  # the caller was still speaking when the call ended
        nxt = obs.utterances[groups[k + 1][0]][0] if k + 1 < len(groups) else float("inf")
        mine = [r for r in answers if end - 0.1 < r.at_s <= nxt + 0.3]
        first = mine[0] if mine else None
        due = busy_until(obs, end, first, budget) + budget
        if first is None or first.at_s > due:
            if due <= stop:
                late = f"answered only at {first.at_s:.2f} s" if first else "never answered"
                raise UnansweredTurn(
                    f"caller turn {g} ({start:.2f}-{end:.2f} s) {late}; due by {due:.2f} s; "
                    f"answers on the wire: {[(round(r.at_s, 2), r.session, r.persona) for r in answers]}"
                )
            continue
        played = playbacks(obs, first)
        if not played:
            # An answer whose connection the call left before its audio came (a goAway move
            # with no time to wait for it) is given again by the next session: that one must
            # be heard, within the budget (seed 9623).
            nxt_answer = next((r for r in mine if r.session != first.session), None)
            if nxt_answer is not None and nxt_answer.at_s <= due and not any(r.complete for r in mine[: mine.index(nxt_answer)]):
                first = nxt_answer
                played = playbacks(obs, first)
        if not played and first.at_s + 1.5 <= stop:
            raise UnheardAnswer(
                f"caller turn {g} ({start:.2f}-{end:.2f} s) was answered on the wire at {first.at_s:.2f} s "
                f"(session {first.session}: {first.text[:60]!r}) but the caller never heard it; replies "
                f"played: {[(h.session, round(h.at_s, 2), h.text[:30]) for h in obs.heard]}"
            )
        allowed = {persona_at(obs.personas, end - 0.3)} | {
            label for at, label in obs.personas if end - 0.3 < at <= first.at_s
        }
        stayed = stayed_persona(obs, first.at_s)
        if stayed is not None:
            allowed.add(stayed)
        if first.persona not in allowed:
            raise WrongPersona(
                f"caller turn {g} ({start:.2f}-{end:.2f} s) answered at {first.at_s:.2f} s by "
                f"{first.persona!r} on session {first.session}; persona in force: {sorted(allowed)}"
            )
        # The model answers each turn its VAD closed, one after another (a caller who spoke on
        # while a tool call was pending gets one answer per sentence): answers that heard
        # different lengths of speech answer different sentences. More answers of one length,
        # spoken to the end, than the turn has sentences of that length is a sentence answered
        # twice (a caller may say the same card twice: make explore seed 10116).
        complete = [r for r in mine if r.complete]
        lengths = [obs.utterances[u][1] - obs.utterances[u][0] for u in g]
        for i, a in enumerate(complete):
            twins = [b for b in complete[i + 1 :] if abs(b.heard_s - a.heard_s) <= 0.15]
            said = sum(abs(length - a.heard_s) <= 0.3 for length in lengths)
            if len(twins) >= max(1, said):
                raise DuplicateAnswer(
                    f"caller turn {g} ({start:.2f}-{end:.2f} s) answered twice: "
                    f"{[(round(r.at_s, 2), r.session, r.text) for r in (a, twins[0])]}"
                )


SENTENCE_SLACK_S = 0.25  # the emulator's speech length against the recording's, per sentence


def check_sentences(obs: Observation, budget: float) -> None:
    """Every sentence of a turn reaches an answer: a caller who went on before any answer began
    said several sentences, and the model's answers to them (one, or one per sentence the
    model's VAD closed) together heard all of that speech.

    :func:`check_turns` judges a turn by its first answer; a sentence lost after it went
    unseen (make explore seed 10116: a second sentence said during a function call, never
    replayed after a goAway cut the answer to the first). The emulated model's answer says how
    much speech it heard. A sentence that asked for a function is answered by the reply that
    quotes the result; when the result went as a note ("[Function ... returned ...]", to a
    later session, or again after a resume), that reply heard none of the sentence, which did
    not reach its session, so the sentence is credited as heard. Answers given again count
    twice, so this check can miss a loss but not invent one; an answer :func:`left_behind`
    does not count (the caller could not hear it, and the new session was owed the sentence).
    Not judged: turns the call ended before all their answers were due, calls that lost audio
    within the hold bound (an outage longer than it) or ended with an error, and turns in which
    the server withdrew a function call (the model answers the caller's next words, with the
    withdrawn turn as context)."""
    if any(fatal for _, _, fatal in obs.errors) or failing_connects(obs) or longest_outage(obs) > obs.max_held_s:
        return
    stop = cutoff(obs)
    withdrawn = {i for r in obs.records for i in r.extra.get("cancelled_tool_calls", [])}
    pace = getattr(obs.timeline, "pace", 1.0) or 1.0
    answers = callers_answers(obs)
    for g in turns(obs, budget):
        if len(g) < 2:
            continue
        start, end = obs.utterances[g[0]][0], obs.utterances[g[-1]][1]
        # The answers due to this turn: those that began after it, each within the budget of
        # the model being free again (queued answers follow the ones before them), and those
        # that began while the caller was already saying the turn's next sentence, which answer
        # the ones before it (make explore seed 10419: a function's result came back during a
        # long sentence, and the reply quoting it answered the sentence that asked; seed 10540:
        # a new session answered a replayed sentence as the caller's next one began).
        busy, given = end, []
        for r in answers:  # in wire order, so an answer within the turn keeps the model busy
            if start < r.at_s <= busy + budget:
                given.append(r)
                busy = max(busy, r.at_s + r.audio_s / pace)
        if busy + budget > stop:
            continue  # the call ended before the turn was owed all its answers
        calls = [c for c in obs.tool_calls if start <= c.at_s <= busy + budget]
        if any(c.id in withdrawn for c in calls):
            continue
        heard = sum(r.heard_s for r in given)
        for c in calls:
            # A reply quoting the result as a note (it may begin between the turn's sentences:
            # it answers no caller speech of its own) answers the sentence that asked.
            asked = [u for u in g if obs.utterances[u][1] <= c.at_s]
            if asked and any(r.at_s >= c.at_s and "[Function " in r.text and " returned " in r.text for r in obs.wire_replies):
                heard += obs.utterances[asked[-1]][1] - obs.utterances[asked[-1]][0]
        said = sum(obs.utterances[u][1] - obs.utterances[u][0] for u in g)
        if heard + SENTENCE_SLACK_S * len(g) < said:
            raise LostSentence(
                f"caller turn {g} ({start:.2f}-{end:.2f} s) said {said:.2f} s of speech in {len(g)} "
                f"sentences; its answers heard {heard:.1f} s: {[(round(r.at_s, 2), r.session, r.text[:140]) for r in given]}; "
                f"all replies: {[(round(r.at_s, 2), r.session, r.text[:90]) for r in obs.wire_replies]}"
            )


def check_call_end(obs: Observation) -> None:
    if obs.timed_out:
        raise CallNeverEnded(f"the pipeline had not ended after the call timeout (call time {obs.end_s:.1f} s)")
    ending = [(at, text) for at, text, fatal in obs.errors if fatal]
    if ending and not justified_fatal(obs):
        codes = [(r.index, r.close_code) for r in obs.records]
        raise UnjustifiedCallEnd(f"the call was ended at {ending[0][0]:.2f} s by {ending[0][1]!r}; close codes {codes}")
    if ending and obs.end_s - ending[0][0] > LINGER_S:
        raise DeadCallLingers(
            f"the service could no longer work from {ending[0][0]:.2f} s ({ending[0][1][:80]!r}) "
            f"but the call went on until {obs.end_s:.2f} s"
        )


def check_audio(obs: Observation) -> None:
    if any(fatal for _, _, fatal in obs.errors):
        return  # nothing after a call-ending error is owed
    if len(failing_connects(obs)) >= 2:
        return  # an outage that outlasted the call: the held audio never had a session to go to
    # A replay is a duplicate only of audio an earlier session did receive: one sent toward a
    # connection that dropped before taking it (make explore seed 10635: a drop 0.06 s into
    # the flush of 10 s held through a refused first connect) reaches a session for the first
    # time in the replay. Every duplicate copy has an earlier copy in a connection other than
    # the last one that took audio, so those connections' audio bounds the duplicates.
    took = [r.audio_bytes / RATE_BYTES for r in sorted(obs.records, key=lambda r: r.index) if r.audio_bytes]
    duplicates = min(obs.replayed_s, sum(took[:-1]))
    unique = obs.received_s - duplicates
    lost = obs.pushed_s - unique
    # The hold keeps the latest max_held_s of an outage: a longer one loses what came before.
    # An outage still going on when the call ended loses all it held (seed 9921: every connect
    # refused at HTTP, which leaves no record for failing_connects to see).
    outage = longest_outage(obs)
    allowed = max(obs.max_held_s, outage - obs.max_held_s) + trailing_outage(obs)
    if lost > allowed + 0.5:
        raise AudioLost(
            f"{lost:.2f} s of caller audio never reached a session (pushed {obs.pushed_s:.2f} s, "
            f"received {obs.received_s:.2f} s of which {obs.replayed_s:.2f} s replays; the service counted "
            f"{obs.dropped_frames} frames dropped, {obs.held_at_end} still held at the end); bound {obs.max_held_s} s, "
            f"longest outage {outage:.2f} s"
        )


def _noted(record, name: str) -> bool:
    needle = f"{name} returned"
    return any(needle in t for t in record.texts) or needle in str(record.client_content)


def check_tools(obs: Observation, budget: float) -> None:
    stop = cutoff(obs)
    delay = getattr(obs.timeline, "tool_delay", 0.0)
    by_index = {r.index: r for r in obs.records}
    for call in obs.tool_calls:
        rec = by_index[call.session]
        if any(resp.get("id") == call.id for resp in rec.tool_responses):
            continue
        if call.id in rec.extra.get("cancelled_tool_calls", []):
            continue
        later = [r for r in obs.records if r.index > call.session]
        if any(_noted(r, call.name) or r.tool_responses for r in later):
            continue
        if call.at_s + delay + budget > stop:
            continue  # the call ended before the result was due
        raise ToolCallUnanswered(
            f"tool call {call.name} ({call.id}) made at {call.at_s:.2f} s on session {call.session} "
            f"was never answered (closed: {rec.close_code})"
        )


def check_resources(obs: Observation) -> None:
    if obs.open_after_wait:
        raise ConnectionLeftOpen(
            f"connections {obs.open_after_wait} still open after the call ended "
            f"(records: {[(r.index, r.close_code, r.closed) for r in obs.records]})"
        )
    if obs.leftover_tasks:
        raise TaskLeftRunning(f"tasks of the service still running after the call: {obs.leftover_tasks}")


def check_report(obs: Observation, budget: float) -> None:
    """Each turn the report counts as answered had an answer begin on the wire in the report's
    own window for it (after the turn ended, before the next one did).

    The report attributes bot audio to turns by time; how promptly that answer came is judged
    by :func:`check_turns`, not here (a busy machine splits playback into spans that the
    report may pair with the wrong turn by a few hundred ms).
    """
    for h in obs.heard:
        # The report leaves out replies marked as going on with a cut one: a marked reply must
        # not answer caller speech (make explore seed 10116: replayed speech answered together
        # with the cue). Judged by what its words show: one a hang-up cut after a word says
        # nothing either way (seed 10032), and one that quotes a function's result may have
        # called that function itself (seed 9113's timeline). An unmarked reply to the cue
        # alone that the report counts as an answer fails the check below.
        if h.goes_on and ANSWER in h.text:
            raise ReportDisagrees(
                f"the reply at {h.at_s:.2f} s (session {h.session}: {h.text[:60]!r}) answers the "
                "caller but is marked as going on with a cut reply"
            )
    answers = [r for r in obs.wire_replies if r.is_answer or r.answers_a_function_result]
    ends = [t["user_speech_end_s"] for t in obs.report_turns]
    for i, turn in enumerate(obs.report_turns):
        if turn.get("bot_audio_start_s") is None:
            continue
        end = turn["user_speech_end_s"]
        if end > cutoff(obs):
            continue
        start = turn.get("user_speech_start_s")
        if start is not None and not any(a < end and start < b for a, b in obs.utterances):
            # The report's turns are the recording's; this one a muted mic kept from the
            # service (make explore seed 10221), so no answer to it is the service's claim.
            continue
        limit = ends[i + 1] if i + 1 < len(ends) else float("inf")
        if not any(end - 0.1 < r.at_s < limit for r in answers):
            raise ReportDisagrees(
                f"the report counts turn {turn['index']} ({end:.2f} s) answered by bot audio at "
                f"{turn['bot_audio_start_s']:.2f} s, but no answer began on the wire after it and "
                f"before the next turn ended; answers: {[(round(r.at_s, 2), r.session) for r in answers]}"
            )


# What the service sends a session it asks to go on with a reply that a closing connection cut
# (pipecat_gemini_live's history CONTINUE_MARKER; the emulated model quotes what it was sent).
CONTINUE_CUE = "(The call continues.)"


def check_monologue(obs: Observation) -> None:
    """The bot never talks on its own: a reply cut by its connection closing is taken up again
    at most once per caller utterance or function result, not every time the taken-up reply is
    cut in turn. (A function result the model has not answered yet is owed its answer: a new
    session seeded after it is asked to go on; make explore seed 9113 had a taken-up reply call a
    function whose result a goAway then left unanswered.)"""
    cues = [r for r in obs.wire_replies if CONTINUE_CUE in r.text]
    reasons = len(obs.utterances) + len(obs.tool_calls)
    if len(cues) > max(1, reasons):
        raise Monologue(
            f"{len(cues)} replies answered the service's own cue to go on, for {len(obs.utterances)} "
            f"caller utterances and {len(obs.tool_calls)} function calls: "
            f"{[(round(r.at_s, 2), r.session) for r in cues[:6]]}"
        )


def check(obs: Observation) -> None:
    """Raise the first violation (an :class:`InvariantViolation` subclass), if any."""
    budget = latency_budget(obs.timeline, obs.speed)
    check_call_end(obs)
    check_resources(obs)
    check_turns(obs, budget)
    check_sentences(obs, budget)
    check_tools(obs, budget)
    check_audio(obs)
    check_report(obs, budget)
    check_monologue(obs)
