"""Hypothesis settings and strategies for fuzzing the bots' network entry points.

``FUZZ_EXAMPLES`` sets how many examples each fuzz test draws: a few dozen, derandomized (the
same seeds every run), in ``make test``; ``make fuzz`` sets thousands and a random seed.
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

LONG_RUN = "FUZZ_EXAMPLES" in os.environ


def fuzz_settings(seeds: int) -> settings:
    """``seeds`` examples in ``make test`` (fixed seed), ``FUZZ_EXAMPLES`` in a long run."""
    return settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", seeds)),
        deadline=None,
        derandomize=not LONG_RUN,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16,
)


def dumps(value) -> str:
    """JSON text; Python writes NaN and Infinity, which Twilio never sends (good fuzz)."""
    return json.dumps(value)


sids = st.one_of(
    st.from_regex(r"\A(CA|MZ|AC)[0-9a-f]{32}\Z"),
    json_values,
)

media_formats = st.one_of(
    st.fixed_dictionaries(
        {
            "encoding": st.sampled_from(["audio/x-mulaw", "audio/x-l16", "x", ""]) | json_values,
            "sampleRate": st.sampled_from([8000, 16000, 0, -1, "8000", "abc", [8000]]) | json_values,
            "channels": st.sampled_from([1, 2, 0, [1], "1"]) | json_values,
        }
    ),
    json_values,
)

start_bodies = st.fixed_dictionaries(
    {},
    optional={
        "streamSid": sids,
        "callSid": sids,
        "accountSid": sids,
        "tracks": json_values,
        "customParameters": st.dictionaries(st.text(max_size=8), json_values, max_size=3) | json_values,
        "mediaFormat": media_formats,
    },
)

start_messages = st.builds(
    lambda body, envelope_sid, event: {"event": event, "sequenceNumber": "1", "streamSid": envelope_sid, "start": body},
    start_bodies,
    sids,
    st.sampled_from(["start", "start", "Start", "connected", "media"]),
)

twilio_events = st.fixed_dictionaries(
    {"event": st.sampled_from(["media", "mark", "stop", "dtmf", "clear", "connected", "start", "?"]) | json_values},
    optional={
        "streamSid": sids,
        "sequenceNumber": json_values,
        "media": st.fixed_dictionaries(
            {},
            optional={
                "payload": st.sampled_from(["/w==", "", "!!", "a" * 7]) | st.text(max_size=60) | json_values,
                "track": json_values,
                "chunk": json_values,
                "timestamp": json_values,
            },
        )
        | json_values,
        "mark": json_values,
        "dtmf": json_values,
        "stop": json_values,
    },
)

ws_messages = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300),
    json_values.map(dumps),
    start_messages.map(dumps),
    twilio_events.map(dumps),
    st.integers(min_value=1, max_value=50_000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=4_000, max_value=70_000).map(lambda n: '{"event":"start","x":"' + "x" * n + '"}'),
)

sdp_lines = st.sampled_from(
    [
        "v=0",
        "o=- 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "m=video 0 x",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:0123456789abcdefghijkl",
        "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
        "a=fingerprint:sha-256 zz",
        "a=setup:actpass",
        "a=mid:0",
        "a=rtpmap:111 opus/48000/2",
        "a=rtpmap:zz",
        "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
        "a=candidate:garbage",
        "a=sctp-port:5000",
        "a=group:BUNDLE 0 1",
        "a=sendrecv",
        "garbage",
        "",
    ]
)
