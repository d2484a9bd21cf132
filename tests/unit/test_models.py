from pipecat_gemini_live.protocol.profiles import (
    GEMINI_2_5_NATIVE_AUDIO,
    GEMINI_3_1_LIVE,
    GEMINI_3_8_LIVE,
    UNKNOWN_MODEL,
    HistorySeeding,
    ModelProfile,
    model_version,
    forget_refusals,
    learn_refusal,
    profile_for,
    register_profile,
    unregister_profile,
)


def test_known_models_match_their_profiles():
    assert profile_for("models/gemini-2.5-flash-native-audio-preview-09-2025") is GEMINI_2_5_NATIVE_AUDIO
    assert profile_for("gemini-live-2.5-flash-preview") is GEMINI_2_5_NATIVE_AUDIO
    assert profile_for("gemini-3.1-flash-live-preview").name == GEMINI_3_1_LIVE.name  # with its tries (below)
    assert profile_for("models/gemini-3.8-live") is GEMINI_3_8_LIVE
    assert profile_for("gemini-4.0-flash-live") is GEMINI_3_8_LIVE  # "3.8 and newer"


def test_unknown_model_is_conservative():
    p = profile_for("some-future-model")
    assert p is UNKNOWN_MODEL
    assert not p.mid_session_client_content and not p.context_update and not p.non_blocking_tools
    # A 3.x live model older than 3.8 that is not 3.1 gets no 3.8 capabilities either.
    assert profile_for("gemini-3.5-live").context_update is False


def test_profile_capabilities_follow_the_field_reports():
    assert GEMINI_2_5_NATIVE_AUDIO.seed_must_end_with_user
    assert GEMINI_2_5_NATIVE_AUDIO.history_seeding is HistorySeeding.CLIENT_CONTENT
    assert GEMINI_3_1_LIVE.history_seeding is HistorySeeding.INITIAL_HISTORY
    assert not GEMINI_3_1_LIVE.mid_session_client_content
    assert GEMINI_3_8_LIVE.context_update
    assert all(not p.system_role_turns for p in (GEMINI_2_5_NATIVE_AUDIO, GEMINI_3_1_LIVE, GEMINI_3_8_LIVE))


def test_user_profiles_take_precedence_and_can_be_removed():
    custom = ModelProfile(
        name="test-lab",
        patterns=("gemini-3.1-flash-live-lab*",),
        mid_session_client_content=True,
        history_seeding=HistorySeeding.CLIENT_CONTENT,
        context_update=True,
        non_blocking_tools=True,
    )
    register_profile(custom)
    try:
        assert profile_for("gemini-3.1-flash-live-lab-01") is custom
        assert profile_for("gemini-3.1-flash-live-preview").name == GEMINI_3_1_LIVE.name
    finally:
        unregister_profile("test-lab")
    assert profile_for("gemini-3.1-flash-live-lab-01").name == GEMINI_3_1_LIVE.name


def test_with_overrides_copies():
    p = GEMINI_3_1_LIVE.with_overrides(context_update=True)
    assert p.context_update and not GEMINI_3_1_LIVE.context_update


def test_model_version():
    assert model_version("models/gemini-3.8-live") == (3, 8)
    assert model_version("gemini-live-2.5-flash") == (2, 5)
    assert model_version("gemini-2.0-flash-live-001") == (2, 0)
    assert model_version("claude") is None


def test_what_the_table_is_unsure_of_is_tried_until_refused():
    """3.1's conflicting readings (docs/model-rules.md): the in-session clientContent path and
    the documented manual-activity path are tried; a 1007 after each turns it off for the
    process, once (a second refusal of the same teaches nothing new, so it is logged once)."""
    model = "gemini-3.1-flash-live-preview"
    forget_refusals()
    try:
        tried = profile_for(model)
        assert tried.mid_session_client_content and not tried.manual_activity_with_detection
        assert learn_refusal(model, "client_content") == {"mid_session_client_content": False}
        assert learn_refusal(model, "client_content") is None  # known already
        assert learn_refusal(model, "activity", marks_with_detection=False) == {"manual_activity_with_detection": True}
        safe = profile_for(f"models/{model}")
        assert not safe.mid_session_client_content and safe.manual_activity_with_detection
        assert profile_for("gemini-3.1-flash-live-other").mid_session_client_content  # per model
    finally:
        forget_refusals()
    assert profile_for(model) == tried


def test_a_refusal_of_marks_with_detection_on_moves_back_to_the_documented_way():
    model = "gemini-3.8-live"
    forget_refusals()
    try:
        assert learn_refusal(model, "activity", marks_with_detection=True) == {"manual_activity_with_detection": False}
        assert learn_refusal(model, "activity", marks_with_detection=True) is None
        assert learn_refusal(model, "audio") is None  # no capability behind it
    finally:
        forget_refusals()
