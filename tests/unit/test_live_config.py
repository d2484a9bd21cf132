from pipecat.services.google.gemini_live.llm import GeminiLiveLLMSettings, GeminiVADParams

from pipecat_gemini_live.protocol.setup import SessionSpec, build_connect_config, tag_tool_behaviors
from pipecat_gemini_live.protocol.profiles import GEMINI_2_5_NATIVE_AUDIO, GEMINI_3_1_LIVE, GEMINI_3_8_LIVE
from pipecat_gemini_live.service import GeminiLiveLLMService

TOOLS = [{"function_declarations": [{"name": "get_weather", "description": "w"}, {"name": "book"}]}]


def settings(**changes) -> GeminiLiveLLMSettings:
    svc = GeminiLiveLLMService(api_key="k", settings=GeminiLiveLLMSettings(**changes) if changes else None)
    return svc._settings


def spec(**kw) -> SessionSpec:
    base = dict(model="gemini-3.1-flash-live-preview", system_instruction="Be brief.", voice="Puck", language="en-US", tools=None)
    base.update(kw)
    return SessionSpec(**base)


def test_transcription_and_resumption_always_requested():
    cfg = build_connect_config(spec(), settings(), GEMINI_2_5_NATIVE_AUDIO, resumption_handle="h7")
    assert cfg.input_audio_transcription is not None and cfg.output_audio_transcription is not None
    assert cfg.session_resumption.handle == "h7"
    assert cfg.system_instruction == "Be brief."
    assert cfg.speech_config.voice_config.prebuilt_voice_config.voice_name == "Puck"


def test_history_config_follows_the_profile():
    assert build_connect_config(spec(), settings(), GEMINI_3_1_LIVE).history_config.initial_history_in_client_content
    assert build_connect_config(spec(), settings(), GEMINI_2_5_NATIVE_AUDIO).history_config is None


def test_non_blocking_only_where_the_profile_allows():
    s = spec(tools=TOOLS)
    on_38 = build_connect_config(s, settings(), GEMINI_3_8_LIVE, non_blocking_functions={"book"})
    decls = on_38.tools[0]["function_declarations"]
    # Every behavior explicit: 3.8's default for an undeclared one moved to NON_BLOCKING (2026-10).
    assert {d["name"]: d.get("behavior") for d in decls} == {"get_weather": "BLOCKING", "book": "NON_BLOCKING"}
    on_31 = build_connect_config(s, settings(), GEMINI_3_1_LIVE, non_blocking_functions={"book"})
    assert all("behavior" not in d for d in on_31.tools[0]["function_declarations"])
    assert "behavior" not in TOOLS[0]["function_declarations"][1]  # the caller's list is untouched


def test_vad_and_affective_dialog():
    s = settings(vad=GeminiVADParams(silence_duration_ms=300), enable_affective_dialog=True)
    cfg = build_connect_config(spec(), s, GEMINI_3_1_LIVE)
    assert cfg.realtime_input_config.automatic_activity_detection.silence_duration_ms == 300
    assert cfg.enable_affective_dialog is None  # 3.1 does not take it
    assert build_connect_config(spec(), s, GEMINI_2_5_NATIVE_AUDIO).enable_affective_dialog is True


def test_spec_diffs():
    a = spec()
    assert a.setup_only_changes(spec(voice="Kore")) == {"voice"}
    assert a.context_changes(spec(system_instruction="Be a pirate.")) == {"system_instruction"}
    assert a.context_changes(spec(tools=TOOLS)) == {"tools"}
    assert tag_tool_behaviors(TOOLS, {"get_weather"})[0]["function_declarations"][0]["behavior"] == "NON_BLOCKING"
