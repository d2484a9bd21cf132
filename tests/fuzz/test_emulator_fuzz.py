"""Bounded fuzzing of the emulator's network entry points (WebSocket and REST), loopback only.

Hypothesis generates malformed and hostile client messages and REST requests. Invariants: the
emulator answers every one with a refusal the real service would give (close 1000/1007/1008,
HTTP 4xx), never an internal error (close 1011, HTTP 5xx, an error logged), and still serves a
good call afterwards.

`make test` runs a fixed, derandomised set of examples (EMULATOR_FUZZ_EXAMPLES, default 25 per
entry point); `make fuzz-emulator` runs thousands with fresh random seeds.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loguru import logger
from tenacity import retry, retry_if_exception, retry_if_exception_type, stop_after_attempt
from websockets.exceptions import ConnectionClosed, InvalidMessage
from websockets.sync.client import connect

from gemini_live_emulator.threaded import EmulatorThread

EXAMPLES = int(os.environ.get("EMULATOR_FUZZ_EXAMPLES", "25"))
LONG = EXAMPLES > 100
PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
MODEL = "models/gemini-3.8-live"
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=not LONG,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
SETUP_FIELDS = [
    "model", "generationConfig", "systemInstruction", "tools", "realtimeInputConfig", "sessionResumption",
    "contextWindowCompression", "inputAudioTranscription", "outputAudioTranscription", "historyConfig",
    "generation_config", "system_instruction",
]


def _field_values(names):
    return st.dictionaries(st.sampled_from(names), json_values, max_size=4)


setups = st.builds(lambda extra: {"setup": {"model": MODEL, **extra}}, _field_values(SETUP_FIELDS))
realtime = st.builds(
    lambda body: {"realtimeInput": body},
    _field_values(["audio", "video", "media", "mediaChunks", "text", "audioStreamEnd", "activityStart", "activityEnd"])
    | st.builds(
        lambda data, mime: {"audio": {"data": data, "mimeType": mime}},
        st.text(alphabet="ABCDEFGHabcdefgh0123456789+/=-_", max_size=64),
        st.sampled_from(["audio/pcm", "audio/pcm;rate=8000", "audio/pcm;rate=0", "audio/pcm;rate=99999999", "audio/wav", "image/png", ""]),
    ),
)
content = st.builds(
    lambda turns, complete: {"clientContent": {"turns": turns, "turnComplete": complete}},
    st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "model", "system", ""]) | json_values,
                                    "parts": st.lists(st.fixed_dictionaries({"text": json_values}), max_size=2) | json_values}),
             max_size=3) | json_values,
    json_values,
)
tool_responses = st.builds(lambda body: {"toolResponse": body}, _field_values(["functionResponses"]))
context = st.builds(lambda body: {"contextUpdate": body}, _field_values(["systemInstruction", "tools"]))
junk = st.one_of(
    st.builds(json.dumps, json_values),
    st.binary(max_size=64),
    st.text(max_size=64),
    st.integers(2, 3000).map(lambda n: '{"clientContent": ' + "[" * n + "]" * n + "}"),
)
messages = st.one_of(realtime, content, tool_responses, context, setups, junk)


class ErrorLog:
    """Counts ERROR records logged by the emulator while it runs."""

    def __init__(self):
        self.errors: list[str] = []
        self._id = logger.add(self._sink, level="ERROR", filter="gemini_live_emulator")

    def _sink(self, message):
        self.errors.append(str(message))

    def close(self):
        logger.remove(self._id)


@pytest.fixture(scope="module")
def served():
    with EmulatorThread() as t:
        emu = t.start(think_ms=0, pace=20.0, asr=False)
        log = ErrorLog()
        try:
            yield emu
        finally:
            log.close()
            assert log.errors == [], log.errors[:3]


def _handshake_lost(exc: BaseException) -> bool:
    """A handshake whose request never reached the server: the server's TLS 1.3 side (asyncio's
    ssl protocol, with any websockets server, ours or a bare one) now and then loses the first
    application data under CPU load, about 1 connection in 1,000 on two busy cores, and closes
    with no status line. It is the platform's, not the emulator's (a bare ``websockets.serve``
    over TLS 1.3 does the same; over TLS 1.2 it does not), and not what these tests check."""
    return isinstance(exc, InvalidMessage) and isinstance(exc.__cause__, EOFError)


@retry(retry=retry_if_exception(_handshake_lost), stop=stop_after_attempt(3), reraise=True)
def _ws(emu):
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    url = emu.base_url.replace("https", "wss") + PATH
    return connect(url, ssl=ctx, additional_headers={"x-goog-api-key": emu.api_key}, open_timeout=20, max_size=None)


def _play(emu, sequence) -> int | None:
    with _ws(emu) as ws:
        try:
            for m in sequence:
                ws.send(json.dumps(m) if isinstance(m, dict) else m)
            while True:
                ws.recv(timeout=0.3)
        except TimeoutError:
            return None  # still open: every message was accepted
        except (ConnectionClosed, ssl.SSLError):
            # The server closed while we were still sending: on a loaded machine the client's
            # TLS layer may report that as an SSL error rather than a close. What the server
            # sent is checked on its side (``close_codes``).
            pass
        return ws.close_code


def _still_serves(emu) -> None:
    with _ws(emu) as ws:
        ws.send(json.dumps({"setup": {"model": MODEL}}))
        assert "setupComplete" in ws.recv(timeout=5)
        ws.send(json.dumps({"realtimeInput": {"text": "Still there?"}}))
        while "turnComplete" not in ws.recv(timeout=10):
            pass


@FUZZ
@given(first=st.one_of(setups, messages), rest=st.lists(messages, max_size=3))
def test_websocket_messages_are_refused_cleanly(served, first, rest):
    code = _play(served, [first, *rest])
    assert code in (None, 1000, 1007, 1008), code
    assert 1011 not in served.close_codes


@retry(retry=retry_if_exception_type(TimeoutError), stop=stop_after_attempt(3), reraise=True)
def _rest(emu, method, path, body, headers):
    """One request on a fresh connection. A TLS handshake that times out is tried again: the
    server's TLS 1.3 side can lose a connection's first data under load (see ``_handshake_lost``),
    which is not what these tests check."""
    conn = http.client.HTTPSConnection(
        emu.base_url.removeprefix("https://"), context=ssl.create_default_context(cafile=emu.ca_file), timeout=10
    )
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


@FUZZ
@given(
    method=st.sampled_from(["POST", "PUT", "DELETE", "PATCH"]),
    path=st.sampled_from(["/v1alpha/auth_tokens", "//v1alpha/auth_tokens", "/v1beta/auth_tokens", "/x", "/v1alpha/auth_tokens?key="]),
    key=st.sampled_from(["good", "bad", None]),
    body=st.one_of(st.builds(lambda v: json.dumps(v).encode(), json_values), st.binary(max_size=128),
                   st.integers(2, 5000).map(lambda n: b'{"uses": ' + b"[" * n + b"]" * n + b"}")),
)
def test_rest_requests_are_answered_without_a_server_error(served, method, path, key, body):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-goog-api-key"] = served.api_key if key == "good" else "wrong"
    response, payload = _rest(served, method, path, body, headers)
    assert 200 <= response.status < 500, (response.status, payload[:200])
    if response.status >= 400:
        assert json.loads(payload)["error"]["code"] == response.status


def test_the_emulator_still_serves_after_the_fuzzing(served):
    _still_serves(served)
