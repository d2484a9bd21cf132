from pipecat_gemini_live.protocol.history import CONTINUE_MARKER, ConversationHistory
from pipecat_gemini_live.protocol.profiles import GEMINI_2_5_NATIVE_AUDIO, GEMINI_3_1_LIVE


def test_seed_merges_roles_and_keeps_tool_calls_as_text():
    h = ConversationHistory()
    h.add_user("What's the weather?")
    h.add_tool_call("get_weather", {"city": "Paris"})
    h.add_tool_result("get_weather", {"temp_c": 21})
    h.model_piece("It is ")
    h.model_piece("21 degrees.")
    seed = h.seed(GEMINI_3_1_LIVE)
    assert [c.role for c in seed] == ["user", "model", "user", "model"]
    assert "get_weather" in seed[1].parts[0].text and '"temp_c":21' in seed[2].parts[0].text
    assert seed[3].parts[0].text == "It is 21 degrees."


def test_seed_ends_with_user_where_the_profile_needs_it():
    h = ConversationHistory()
    h.add_user("hello")
    h.add_model("hi")
    assert h.seed(GEMINI_3_1_LIVE)[-1].role == "model"
    seed = h.seed(GEMINI_2_5_NATIVE_AUDIO)
    assert seed[-1].role == "user" and seed[-1].parts[0].text == CONTINUE_MARKER


def test_seed_is_bounded_keeping_the_latest():
    h = ConversationHistory(max_seed_chars=100)
    for i in range(20):
        h.add_user(f"question {i} " + "x" * 20)
        h.add_model(f"answer {i} " + "y" * 20)
    seed = h.seed(GEMINI_3_1_LIVE)
    assert sum(len(c.parts[0].text) for c in seed) <= 100 + 40
    assert "answer 19" in seed[-1].parts[0].text


def test_empty_text_is_not_recorded():
    h = ConversationHistory()
    h.add_user("   ")
    h.end_model_turn()
    assert len(h) == 0 and h.seed(GEMINI_2_5_NATIVE_AUDIO) == []


def test_a_cut_reply_is_taken_up_once_per_stretch_of_the_conversation():
    history = ConversationHistory()
    history.add_user("What's the weather?")
    assert history.may_take_up_cut_reply()
    history.add_model("It is sunny and")
    # The taken-up reply is cut in turn: nothing new from the caller, so it stays cut.
    assert not history.may_take_up_cut_reply()
    assert not history.may_take_up_cut_reply()
    history.add_user("[Function get_weather returned {}]", kind="tool_result")
    assert history.may_take_up_cut_reply()
