"""The same scenarios through every client: each must see the Live protocol the same way.

Clients: google-genai 2.x (this environment), google-genai 3.x (``.venv-genai3``), the
JavaScript SDK ``@google/genai`` on Node, and a raw WebSocket client (pure camelCase, standard
base64). Each scenario is checked twice: against what the protocol says must happen (and what
the emulator recorded on its side), and against google-genai 2.x's view of the same scenario,
which every other client must match exactly, apart from the differences listed in
``KNOWN_DIFFERENCES`` (each of them asserted too, so a change in a client shows up here).
"""

from __future__ import annotations

import copy
import json

import pytest

from gemini_live_emulator import wire
from gemini_live_emulator.model.asr import word_error_rate

from .harness import SPECS, Observed

CLIENTS = ("genai2", "genai3", "node", "raw")
REFERENCE = "genai2"

# What a normal hang-up looks like from the server: the Python SDK and the raw client close
# with 1000; the JavaScript SDK's session.close() sends a close frame with no status code,
# which a server reads as 1005.
HANG_UP_CODE = {"genai2": 1000, "genai3": 1000, "node": 1005, "raw": 1000}
# The API version a client dials when not told: google-genai 2.x and the JS SDK v1beta,
# google-genai 3.x v1 (the raw client here chooses v1beta).
DEFAULT_API_VERSION = {"genai2": "v1beta", "genai3": "v1", "node": "v1beta", "raw": "v1beta"}
# Clients whose LiveConnectConfig cannot carry historyConfig (the JS SDK's setup converter
# drops it, 2.32 and 3.1 alike), so seeding 3.1's initial history meets the 1007 rule.
NO_HISTORY_CONFIG = {"node"}
KNOWN_DIFFERENCES = {
    "hang-up close code": HANG_UP_CODE,
    "default API version": DEFAULT_API_VERSION,
    "historyConfig dropped": sorted(NO_HISTORY_CONFIG),
    "1006 close reason": "client-made text (the server sent no close frame): not compared",
}

FULL_TURN = ["inputTranscription", "audio", "outputTranscription", "generationComplete", "turnComplete", "usageMetadata"]
REASONS = {
    1000: wire.REASON_CANCELLED,
    1007: wire.REASON_INVALID_ARGUMENT,
    1008: wire.REASON_NOT_FOUND,
    1011: wire.REASON_INTERNAL,
}


def first_seen(kinds: list[str]) -> list[str]:
    out: list[str] = []
    for k in kinds:
        if k not in out:
            out.append(k)
    return out


def instruction(setup: dict) -> str:
    parts = wire.get(wire.get(setup, "systemInstruction"), "parts") or []
    return "".join(p.get("text", "") for p in parts)


def check_full_turn(turn: dict, reply, transcribed: bool | None = None) -> None:
    # Only speech is transcribed: a typed turn has no inputTranscription (nor would the real
    # service's recogniser produce one).
    spoken = "I heard you for" in reply.text if transcribed is None else transcribed
    assert first_seen(turn["kinds"]) == (FULL_TURN if spoken else FULL_TURN[1:])
    assert turn["kinds"][-3:] == ["generationComplete", "turnComplete", "usageMetadata"]
    assert turn["transcript"] == reply.text  # the client heard exactly what the emulator said
    assert abs(turn["audio_bytes"] - reply.audio_s * 48000) <= 2
    assert turn["usage_total"] > 0


# -- per-scenario expectations (client view + emulator records) -----------------------------


def check_setup(o: Observed, client: str) -> None:
    assert o.client["setup_complete"] is True
    (record,) = o.records
    assert record.model == f"models/{o.spec.model}"
    assert instruction(record.setup) == "You are the setup persona."
    assert record.api_version == DEFAULT_API_VERSION[client]
    assert record.close_code == HANG_UP_CODE[client]


def check_audio_turn(o: Observed, client: str) -> None:
    t1, t2 = o.client["turns"]
    (record,) = o.records
    check_full_turn(t1, record.replies[0])
    check_full_turn(t2, record.replies[1])
    assert "audio persona" in t1["transcript"] and "no earlier turns" in t1["transcript"]
    assert "two earlier turns" in t2["transcript"]
    # The words recognised (cards_001.wav says "ten of clubs") are transcribed and quoted.
    assert word_error_rate("ten of clubs", t1["input"]) <= 0.5, t1["input"]
    assert f'You said: "{t1["input"].strip()}"' in t1["transcript"]
    assert record.audio_rates == {16000}


def check_text_turn(o: Observed, client: str) -> None:
    (record,) = o.records
    check_full_turn(o.client["turn"], record.replies[0])
    assert record.texts == ["What time is it?"]
    assert 'You wrote: "What time is it?"' in o.client["turn"]["transcript"]


def check_barge_in(o: Observed, client: str) -> None:
    cut, answer = o.client["cut"], o.client["answer"]
    assert "interrupted" in cut["first_seen"] and "generationComplete" not in cut["first_seen"]
    assert cut["ending"] == ["turnComplete", "usageMetadata"]
    assert answer["first_seen"] == FULL_TURN
    (record,) = o.records
    assert record.replies[0].interrupted and not record.replies[1].interrupted
    assert o.client["answer_transcript"] == record.replies[1].text


def check_tool_call(o: Observed, client: str) -> None:
    assert o.client["calls"] == [{"name": "get_weather", "args": {"city": "Paris"}}]
    # The caller's transcription starts streaming while they speak; then the call, and nothing
    # more until the result is in (the model waits: BLOCKING).
    assert o.client["before_call"][-1] == "toolCall"
    assert set(o.client["before_call"]) <= {"inputTranscription", "toolCall"}
    (record,) = o.records
    (call,) = record.tool_calls
    (response,) = record.tool_responses
    assert response["id"] == call["id"] and response["name"] == "get_weather"
    assert response["response"] == {"temp_c": 21, "sky": "clear"}
    # The words may finish before the call or just after it (a scripted call does not wait
    # for the recogniser beyond the think time).
    turn = dict(o.client["turn"], kinds=[k for k in o.client["turn"]["kinds"] if k != "inputTranscription"])
    check_full_turn(turn, record.replies[0], transcribed=False)
    assert 'get_weather returned {"temp_c":21,"sky":"clear"}' in o.client["turn"]["transcript"]


def check_resumption(o: Observed, client: str) -> None:
    c = o.client
    assert c["close"] == [1000, wire.REASON_CANCELLED]  # the connection's lifetime
    assert c["go_away_time_left_is_duration"] and c["handle_after_turn"]
    assert "no earlier turns" in c["first"] and "two earlier turns" in c["resumed"]
    first, second = o.records
    assert first.server_close_code == 1000 and second.resumed_from is not None


def check_close(o: Observed, client: str) -> None:
    code = int(o.spec.id.removeprefix("close_"))
    assert o.client["close"][0] == code
    if code in REASONS:
        assert o.client["close"][1] == REASONS[code]
    assert o.client["audio_before_close"]  # it happened mid-reply
    (record,) = o.records
    assert record.server_close_code == (None if code == 1006 else code)


def check_client_content_31(o: Observed, client: str) -> None:
    assert o.client["first_turn"] == ["turnComplete", "usageMetadata"]
    assert o.client["close"] == [1007, wire.REASON_INVALID_ARGUMENT]
    (record,) = o.records
    assert record.client_content[-1]["turns"] == [{"role": "user", "text": "A late thought."}]


def check_initial_history_31(o: Observed, client: str) -> None:
    (record,) = o.records
    sent_history_config = wire.has(record.setup, "historyConfig")
    assert sent_history_config == (client not in NO_HISTORY_CONFIG)
    if sent_history_config:
        check_full_turn(o.client["turn"], record.replies[0])
        assert "two earlier turns" in o.client["turn"]["transcript"]
    else:
        assert o.client["close"] == [1007, wire.REASON_INVALID_ARGUMENT]
    assert record.client_content[0]["turns"] == [
        {"role": "user", "text": "My name is Ada."},
        {"role": "model", "text": "Hello Ada."},
    ]


def check_ephemeral_token(o: Observed, client: str) -> None:
    c = o.client
    assert c["token_prefix"] == "auth_tokens/"
    assert [call.status for call in o.rest_calls] == [200]  # minted over REST, like Google's
    first, reuse = o.records
    assert (first.method, first.api_version, first.auth) == ("BidiGenerateContentConstrained", "v1alpha", "ephemeral_token")
    assert instruction(first.setup) == "You are the token persona."  # the token's lock won
    assert "impostor" in json.dumps(first.client_setup)
    check_full_turn(c["turn"], first.replies[0])
    assert c["reuse"] == [1008, wire.REASON_BAD_KEY] and reuse.close_code == 1008  # uses=1


CHECKS = {
    "setup": check_setup,
    "audio_turn": check_audio_turn,
    "text_turn": check_text_turn,
    "barge_in": check_barge_in,
    "tool_call": check_tool_call,
    "resumption": check_resumption,
    "close": check_close,
    "client_content_31": check_client_content_31,
    "initial_history_31": check_initial_history_31,
    "ephemeral_token": check_ephemeral_token,
}


def _turn_view(value):
    """A turn without its length: the synthesized audio may differ by a few samples between
    runs (each client's byte count is checked against the emulator's own record instead)."""
    if isinstance(value, dict) and "kinds" in value and "audio_bytes" in value:
        # When the words' transcription lands against the audio depends on the recogniser's
        # timing; which words were heard ("input") is compared.
        kinds = [k for k in value["kinds"] if k != "inputTranscription"]
        return {"first_seen": first_seen(kinds), "ending": kinds[-3:],
                "transcript": value["transcript"], "input": value["input"]}
    if isinstance(value, list):
        return [_turn_view(v) for v in value]
    return value


def comparable(o: Observed) -> dict:
    """The client's view minus what KNOWN_DIFFERENCES says may differ."""
    view = {k: _turn_view(v) for k, v in copy.deepcopy(o.client).items()}
    if o.spec.id == "close_1006":
        view["close"] = view["close"][:1]
    if "before_call" in view:  # transcription pieces land by the recogniser's timing
        view["before_call"] = [k for k in view["before_call"] if k != "inputTranscription"]
    return view


def _observed(client_runs, client: str, spec_id: str) -> Observed:
    run = client_runs.get(client)
    o = run.observed[spec_id]
    assert o.client.get("ok"), f"{run.client}: {o.client.get('error')}\n{o.client.get('trace', '')}"
    return o


@pytest.mark.parametrize("spec_id", [s.id for s in SPECS])
@pytest.mark.parametrize("client", CLIENTS)
def test_scenario(client_runs, client, spec_id):
    o = _observed(client_runs, client, spec_id)
    CHECKS[o.spec.scenario](o, client)
    if client == REFERENCE or (spec_id == "initial_history_31" and client in NO_HISTORY_CONFIG):
        return
    reference = _observed(client_runs, REFERENCE, spec_id)
    assert comparable(o) == comparable(reference)
