"""The serializer's one-pass read of ``media`` messages decides exactly as the two-step read."""

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from pipecat_gemini_live.telephony.twilio_input import _media_payload, _media_payload_checked

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
payloads = st.binary(max_size=400).map(lambda b: base64.b64encode(b).decode()) | st.text(max_size=40)


@st.composite
def messages(draw) -> str:
    """Media-like messages, near misses and noise, as Twilio (or anyone) might send them."""
    media = {"payload": draw(payloads | json_values)}
    media.update(draw(st.dictionaries(st.sampled_from(["track", "chunk", "timestamp"]), json_values, max_size=2)))
    message = {"event": draw(st.sampled_from(["media", "mark", "stop", "Media"]) | json_values), "media": draw(st.just(media) | json_values)}
    message.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3)))
    text = json.dumps(message)  # floats('nan') and ('inf') come out as NaN / Infinity
    return text + draw(st.sampled_from(["", " ", "\n", "x", "}"]))


@settings(max_examples=400, deadline=None)
@given(messages() | st.text(max_size=200))
def test_one_pass_and_two_step_reads_agree(text):
    assert _media_payload(text) == _media_payload_checked(text)
    raw = text.encode()
    assert _media_payload(raw) == _media_payload_checked(raw)


def test_a_media_message_with_a_non_json_constant_is_refused():
    payload = base64.b64encode(b"\xff" * 160).decode()
    assert _media_payload(json.dumps({"event": "media", "media": {"payload": payload}})) == b"\xff" * 160
    assert _media_payload('{"event": "media", "media": {"payload": "%s"}, "x": NaN}' % payload) is None
