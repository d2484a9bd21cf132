"""The switch planner's whole table, without sockets: every outcome, reply and hold policy, and
how superseded requests merge."""

from dataclasses import replace

import pytest

from pipecat_gemini_live.protocol.profiles import GEMINI_2_5_NATIVE_AUDIO, GEMINI_3_1_LIVE, GEMINI_3_8_LIVE
from pipecat_gemini_live.protocol.setup import SessionSpec
from pipecat_gemini_live.protocol.switch_plan import (
    CallState,
    HoldPolicy,
    PlanKind,
    ReplyPolicy,
    SessionView,
    SwitchRequest,
    can_seed_in_place,
    merge,
    plan,
    supersedes,
)

SPEC = SessionSpec(model="models/gemini-3.8-live", system_instruction="You are Ada.", voice="Charon", language="en-US")
PERSONA = replace(SPEC, system_instruction="You are Bob.")
VOICE = replace(SPEC, voice="Puck")


def on(profile=GEMINI_3_8_LIVE, *, spec=SPEC, ready=True, handle=None, realtime=False, index=3, cut=True, target=None):
    view = SessionView(index=index, ready=ready, spec=spec, profile=profile, handle=handle, realtime_input_sent=realtime)
    return CallState(session=view, target_profile=target or profile, cut_reply_on_switch=cut)


def req(reason="persona", spec=SPEC, **flags):
    return SwitchRequest(reason=reason, spec=spec, **flags)


def test_the_first_session_is_opened_with_retries_and_the_caller_held():
    p = plan(CallState(session=None, target_profile=GEMINI_3_8_LIVE), req("start"))
    assert p.kind is PlanKind.NEW_SESSION and p.method == "handover"
    assert p.hold is HoldPolicy.NOW and p.retry and p.keep_old is None
    assert p.reply is ReplyPolicy.KEEP and p.resume_handle is None


def test_a_setup_the_session_already_has_changes_nothing():
    p = plan(on(), req("settings"))
    assert p.kind is PlanKind.UNCHANGED and p.hold is HoldPolicy.NONE and p.method == "unchanged"


@pytest.mark.parametrize("cut, policy", [(True, ReplyPolicy.CUT), (False, ReplyPolicy.WAIT)])
def test_a_new_instruction_goes_in_place_where_the_profile_takes_context_updates(cut, policy):
    p = plan(on(cut=cut), req(spec=PERSONA))
    assert p.kind is PlanKind.CONTEXT_UPDATE and p.method == "context_update"
    assert p.context_changes == {"system_instruction"}
    assert p.reply is policy and p.hold is HoldPolicy.NONE


def test_new_tools_go_in_place_too():
    tools = [{"function_declarations": [{"name": "f"}]}]
    assert plan(on(), req("tools", spec=replace(SPEC, tools=tools))).context_changes == {"tools"}


@pytest.mark.parametrize("profile", [GEMINI_2_5_NATIVE_AUDIO, GEMINI_3_1_LIVE])
def test_a_profile_without_context_updates_moves_to_a_seeded_session(profile):
    p = plan(on(profile), req(spec=PERSONA))
    assert p.kind is PlanKind.NEW_SESSION and p.method == "handover"
    assert p.hold is HoldPolicy.NOW and p.reply is ReplyPolicy.CUT
    assert not p.retry and p.keep_old == 3  # make before break: the call stays on session 3


def test_a_setup_only_field_needs_a_new_session_even_with_context_updates():
    p = plan(on(), req(spec=VOICE))
    assert p.kind is PlanKind.NEW_SESSION and p.keep_old == 3


def test_another_profile_needs_a_new_session():
    p = plan(on(GEMINI_3_8_LIVE, target=GEMINI_2_5_NATIVE_AUDIO), req(spec=replace(SPEC, model="gemini-2.5")))
    assert p.kind is PlanKind.NEW_SESSION


def test_force_new_opens_a_session_for_an_unchanged_setup():
    assert plan(on(), req("settings", force_new=True)).kind is PlanKind.NEW_SESSION


@pytest.mark.parametrize(
    "profile, realtime, in_place",
    [
        (GEMINI_2_5_NATIVE_AUDIO, True, True),  # clientContent at any point
        (GEMINI_3_8_LIVE, True, True),
        (GEMINI_3_1_LIVE, False, True),  # initial history, before realtime input
        (GEMINI_3_1_LIVE, True, False),  # too late: a late clientContent is refused
    ],
)
def test_a_seed_goes_in_place_while_the_profile_takes_it(profile, realtime, in_place):
    p = plan(on(profile, realtime=realtime), req("context", seed=True))
    assert can_seed_in_place(on(profile, realtime=realtime).session, profile) is in_place
    assert p.kind is (PlanKind.SEED_IN_PLACE if in_place else PlanKind.NEW_SESSION)


def test_a_seed_with_a_new_setup_takes_a_new_session():
    assert plan(on(), req("context", spec=PERSONA, seed=True)).kind is PlanKind.NEW_SESSION


def test_a_gentle_move_holds_audio_only_after_the_old_reply_and_does_not_cut_it():
    p = plan(on(), req("goaway", gentle=True, force_new=True))
    assert p.kind is PlanKind.NEW_SESSION
    assert p.hold is HoldPolicy.AFTER_REPLY and p.reply is ReplyPolicy.KEEP and p.keep_old == 3


def test_a_resume_breaks_before_make_with_the_handle():
    p = plan(on(handle="h1"), req("goaway", resume=True, force_new=True, gentle=True))
    assert p.kind is PlanKind.NEW_SESSION and p.method == "resume" and p.resume_handle == "h1"
    assert p.hold is HoldPolicy.NOW  # the gap of the setup round trip is held
    # The live session is closed before the resume opens: nothing to fall back on, so retried.
    assert p.retry and p.keep_old == 3


def test_a_move_that_keeps_a_live_session_is_not_retried():
    for p in (plan(on(), req("persona", force_new=True)), plan(on(handle=None), req("goaway", resume=True, force_new=True))):
        assert p.kind is PlanKind.NEW_SESSION and not p.retry and p.keep_old == 3


def test_a_resume_without_a_handle_is_a_re_seed():
    p = plan(on(handle=None), req("goaway", resume=True, force_new=True))
    assert p.kind is PlanKind.NEW_SESSION and p.method == "handover" and p.resume_handle is None


def test_a_reconnect_after_a_drop_resumes_the_dead_sessions_handle_with_retries():
    state = on(handle="h9", ready=False)
    p = plan(state, req("reconnect", resume=True, old_dead=True, dead_session=3))
    assert p.kind is PlanKind.NEW_SESSION and p.resume_handle == "h9"
    assert p.retry and p.keep_old is None and p.reply is ReplyPolicy.KEEP and p.hold is HoldPolicy.NOW


def test_a_session_reported_dead_is_not_kept_even_if_it_still_looks_ready():
    p = plan(on(), req("reconnect", old_dead=True, force_new=True, dead_session=3))
    assert p.kind is PlanKind.NEW_SESSION and p.retry and p.keep_old is None


def test_a_reconnect_for_a_session_the_call_has_left_is_moot():
    assert plan(on(index=4), req("reconnect", old_dead=True, dead_session=3)).kind is PlanKind.MOOT
    # ...but not when the call is on no live session
    assert plan(on(index=4, ready=False), req("reconnect", old_dead=True, dead_session=3)).kind is PlanKind.NEW_SESSION


def test_the_start_never_cuts():
    assert plan(on(GEMINI_3_1_LIVE), req("start", spec=PERSONA)).reply is ReplyPolicy.KEEP


def test_merged_requests_keep_every_need_of_the_earlier_one():
    first = req("reconnect", old_dead=True, resume=True, respond=True, gentle=True)
    first.requested_at = 1.0
    second = req("persona", spec=PERSONA, gentle=True, seed=True)
    second.requested_at = 2.0
    merged = merge(first, second)
    assert merged.spec == PERSONA and merged.reason == "persona"
    assert merged.old_dead and merged.resume and merged.respond and merged.seed
    assert merged.gentle and merged.requested_at == 1.0
    assert not merge(req(gentle=True), req(gentle=False)).gentle
    assert not merge(req(gentle=False), req(gentle=True)).gentle
    alone = req()
    assert merge(None, alone) is alone


def test_only_a_request_for_another_setup_supersedes_and_never_a_reconnect():
    running = req("persona")
    assert supersedes(req("persona", spec=PERSONA), running)
    assert not supersedes(req("settings"), running)
    assert not supersedes(None, running)
    assert not supersedes(req("persona", spec=PERSONA), req("reconnect"))
