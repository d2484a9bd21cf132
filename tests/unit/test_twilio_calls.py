"""Admitting Twilio calls: per-call tokens, webhook signatures, the stream's start message."""

import asyncio
import json

import pytest
from twilio.request_validator import RequestValidator

from pipecat_gemini_live.telephony.twilio_calls import (
    CallTokens,
    StreamGate,
    StreamRefused,
    check_media_format,
    read_stream_start,
    signature_ok,
    token_key,
)
from pipecat_gemini_live.telephony.twilio_messages import MediaFormat

URL = "https://bot.example.com/twiml"
FORM = {"CallSid": "CA1", "AccountSid": "AC1", "From": "+15550001111"}  # as Twilio signs it
PARAMS = {k: [v] for k, v in FORM.items()}  # as the app parses the body


def test_a_token_is_good_once_for_its_own_call():
    tokens = CallTokens()
    a, b = tokens.issue("CA1"), tokens.issue("CA2")
    assert a != b and len(a) >= 40
    assert not tokens.redeem(b, "CA1")  # another call's token
    assert tokens.redeem(a, "CA1")
    assert not tokens.redeem(a, "CA1")  # single use
    assert tokens.redeem(b, "CA2")
    for bad in (None, "", "forged", "A" * 48, a[:-2] + ("AA" if a[-2:] != "AA" else "BB")):
        assert not tokens.redeem(bad, "CA1")
    assert not tokens.redeem(tokens.issue("CA3"), None)


def test_tokens_expire():
    tokens = CallTokens(ttl_s=-1.0)
    assert not tokens.redeem(tokens.issue("CA1"), "CA1")


def test_workers_sharing_a_key_accept_each_others_tokens():
    key = token_key("a shared secret", None)
    webhook_worker, stream_worker = CallTokens(key), CallTokens(key)
    assert stream_worker.redeem(webhook_worker.issue("CA1"), "CA1")
    assert not CallTokens().redeem(webhook_worker.issue("CA1"), "CA1")  # another key
    assert (
        token_key(None, "auth-token") == token_key(None, "auth-token") != token_key(None, "other")
    )
    assert token_key("s", "auth-token") != token_key(None, "auth-token")
    assert token_key(None, None) is None


def test_signature_is_checked_with_twilios_validator():
    good = RequestValidator("secret-token").compute_signature(URL, FORM)
    assert signature_ok("secret-token", URL, PARAMS, good)
    assert not signature_ok("secret-token", URL, PARAMS, None)
    assert not signature_ok("secret-token", URL, PARAMS, "")
    assert not signature_ok("other-token", URL, PARAMS, good)
    assert not signature_ok("secret-token", URL, {**PARAMS, "CallSid": ["CA2"]}, good)
    assert not signature_ok("secret-token", "https://evil.example.com/twiml", PARAMS, good)


def feed(*messages):
    queue = list(messages)

    async def receive():
        if not queue:
            await asyncio.sleep(3600)
        return queue.pop(0)

    return receive


def start_message(**start):
    body = {
        "streamSid": "MZ1",
        "callSid": "CA1",
        "accountSid": "AC1",
        "customParameters": {"token": "t"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    }
    body.update(start)
    return json.dumps(
        {"event": "start", "sequenceNumber": "1", "start": body, "streamSid": body["streamSid"]}
    )


async def test_start_is_read_after_connected():
    start = await read_stream_start(
        feed(json.dumps({"event": "connected", "protocol": "Call"}), start_message())
    )
    assert (start.stream_sid, start.call_sid, start.account_sid) == ("MZ1", "CA1", "AC1")
    assert start.parameters == {"token": "t"} and start.media_format.sampleRate == 8000


@pytest.mark.parametrize(
    "messages,match",
    [
        (["not json"], "not JSON"),
        (["[1, 2]"], "not a JSON object"),
        ([json.dumps({"event": "media", "media": {"payload": ""}})], "expected start, got 'media'"),
        ([start_message(streamSid="")], "streamSid"),
        ([json.dumps({"event": "connected"})] * 4, "no start within the first 4 messages"),
    ],
)
async def test_bad_openings_are_refused_with_a_reason(messages, match):
    with pytest.raises(StreamRefused, match=match):
        await read_stream_start(feed(*messages))


async def test_a_silent_stream_times_out():
    with pytest.raises(StreamRefused, match="no start within"):
        await read_stream_start(feed(), timeout_s=0.05)


@pytest.mark.parametrize(
    "raw,where",
    [
        (start_message(mediaFormat={"encoding": "audio/x-mulaw", "sampleRate": "abc", "channels": 1}), "sampleRate"),
        (start_message(mediaFormat={"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": [1]}), "channels"),
        (start_message(mediaFormat={"encoding": "audio/x-mulaw", "sampleRate": 0, "channels": 1}), "sampleRate"),
        (start_message(mediaFormat="x"), "mediaFormat"),
        (start_message(callSid=123), "callSid"),
        (start_message(customParameters={"token": 5}), "customParameters"),
        (start_message(customParameters=[1]), "customParameters"),
        (start_message(callSid="CA1\n\rinjected"), "callSid"),
        # Python's json module reads Infinity / NaN; Twilio never sends them.
        (start_message().replace('"sampleRate": 8000', '"sampleRate": Infinity'), "not JSON"),
        (json.dumps({"event": "start", "start": "x"}), "start"),
        (json.dumps({"event": ["start"]}), "expected start, got 'list'"),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
    ],
)
async def test_malformed_starts_are_refused_with_the_field_named(raw, where):
    with pytest.raises(StreamRefused, match=where) as refused:
        await read_stream_start(feed(raw))
    assert refused.value.code == 1008 and len(refused.value.reason) < 200


def test_only_twilios_media_format_is_accepted():
    check_media_format(None)  # Twilio's default
    check_media_format(MediaFormat(encoding="audio/x-mulaw", sampleRate=8000, channels=1))
    for fmt in (("audio/x-l16", 8000, 1), ("audio/x-mulaw", 16000, 1), ("audio/x-mulaw", 8000, 2)):
        with pytest.raises(StreamRefused, match="unsupported media format"):
            check_media_format(MediaFormat(encoding=fmt[0], sampleRate=fmt[1], channels=fmt[2]))


def test_the_stream_gate_caps_pending_and_total_sockets_and_one_stream_per_call():
    gate = StreamGate(max_pending=2, max_streams=3)
    gate.arrive()
    gate.arrive()
    with pytest.raises(StreamRefused, match="waiting for start") as busy:
        gate.arrive()
    assert busy.value.code == 1013
    gate.started()
    gate.admit("CA1")
    with pytest.raises(StreamRefused, match="already has a live stream"):
        gate.admit("CA1")
    gate.started()  # the refused duplicate leaves the pending count
    gate.arrive()
    gate.started()
    gate.admit("CA2")
    gate.arrive()  # three sockets: CA1, CA2 live, one pending
    with pytest.raises(StreamRefused, match="limit of 3 streams"):
        gate.arrive()
    gate.started()
    gate.ended("CA1")
    gate.admit("CA1")  # a call whose stream ended may stream again (its token decides)
    assert (gate.pending, gate.live) == (0, 2)


@pytest.mark.parametrize(
    "raw,reason",
    [
        ('{"event": "media", "media": 5}', "malformed media: media"),
        ('{"event": "media", "media": {"payload": "!!"}}', "not base64"),
        ('{"event": "media", "media": {"payload": 7}}', "media.payload"),
        ('{"event": "dtmf", "dtmf": []}', "malformed dtmf"),
        ("[1]", "not a JSON object"),
        ('{"event": "media", "media": {"payload": NaN}}', "not JSON"),
    ],
)
async def test_malformed_call_messages_are_dropped_not_raised(raw, reason):
    from pipecat_gemini_live.telephony.twilio_messages import check_call_message
    from pipecat_gemini_live.telephony.twilio_serializer import CheckedTwilioSerializer

    assert reason in check_call_message(raw)
    serializer = CheckedTwilioSerializer(
        stream_sid="MZ1", params=CheckedTwilioSerializer.InputParams(auto_hang_up=False)
    )
    # Pipecat's own serializer raises on these (AttributeError, binascii.Error) in the receive loop.
    assert await serializer.deserialize(raw) is None and serializer.dropped == 1


def test_twilios_own_call_messages_pass():
    from pipecat_gemini_live.telephony.twilio_messages import check_call_message

    for raw in (
        json.dumps({"event": "media", "streamSid": "MZ1", "media": {"track": "inbound", "payload": "/w=="}}),
        json.dumps({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": "5"}}),
        json.dumps({"event": "mark", "mark": {"name": "x"}}),
        json.dumps({"event": "stop", "stop": {"callSid": "CA1"}}),
    ):
        assert check_call_message(raw) is None, raw
