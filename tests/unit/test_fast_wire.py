"""The fast path for audio in and out gives exactly what google-genai's own conversion gives."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from google.genai import Client, errors, types
from google.genai.live import AsyncSession
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from pipecat_gemini_live.call.fast_wire import audio_input_message, audio_reply, fast_receiver, fast_sender

PCM = bytes(range(256)) * 4


class FakeSocket:
    """Hands out queued raw messages; records what is sent."""

    def __init__(self, incoming: list[bytes] | None = None, close: Close | None = None):
        self.incoming = list(incoming or [])
        self.sent: list[str] = []
        self.close = close

    async def send(self, message: str | bytes, text: bool | None = None) -> None:
        # As websockets does: a str, or UTF-8 bytes with text=True, is a text frame.
        assert isinstance(message, str) or text is True
        self.sent.append(message if isinstance(message, str) else message.decode())

    async def recv(self, decode: bool | None = None):
        if not self.incoming:
            raise ConnectionClosed(self.close, None)
        return self.incoming.pop(0)


def _session(ws: FakeSocket) -> AsyncSession:
    return AsyncSession(api_client=Client(api_key="k")._api_client, websocket=ws)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


MESSAGES = [
    {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": _b64(PCM), "mimeType": "audio/pcm;rate=24000"}}]}}},
    {"serverContent": {"modelTurn": {"role": "model", "parts": [
        {"inlineData": {"data": _b64(PCM[:10]), "mimeType": "audio/pcm;rate=24000"}},
        {"inlineData": {"data": _b64(PCM[10:]), "mimeType": "audio/pcm;rate=24000"}},
    ]}}},
    {"serverContent": {"modelTurn": {"parts": [{"text": "hello"}]}}},
    {"serverContent": {"turnComplete": True}},
    {"serverContent": {"outputTranscription": {"text": "hi"}}},
    {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": _b64(PCM), "mimeType": "audio/pcm;rate=24000"}}]}, "generationComplete": True}},
    {"toolCall": {"functionCalls": [{"id": "1", "name": "f", "args": {"a": 1}}]}},
    {"usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 5}},
    {"goAway": {"timeLeft": "5s"}},
    {"setupComplete": {}},
]


def test_audio_goes_out_as_the_sdk_would_send_it():
    ours, theirs = FakeSocket(), FakeSocket()

    async def run():
        await _session(theirs).send_realtime_input(audio=types.Blob(data=PCM, mime_type="audio/pcm;rate=16000"))
        send = fast_sender(_session(ours))
        assert send is not None
        await send(audio_input_message(PCM, "audio/pcm;rate=16000"))

    asyncio.run(run())
    assert json.loads(ours.sent[0]) == json.loads(theirs.sent[0])


@pytest.mark.parametrize("mime", ["audio/pcm;rate=8000", 'audio/pcm;rate="16000"', "audio/pcm;\u00e9"])
def test_the_audio_message_is_json_whatever_the_mime_type(mime):
    sent = json.loads(audio_input_message(PCM, mime))
    assert sent == {"realtime_input": {"audio": {"data": base64.urlsafe_b64encode(PCM).decode(), "mime_type": mime}}}


def test_an_older_websockets_without_text_gets_a_str():
    class OldSocket(FakeSocket):
        async def send(self, message: str) -> None:  # websockets < 14: no ``text``
            assert isinstance(message, str)
            self.sent.append(message)

    ws = OldSocket()
    asyncio.run(fast_sender(_session(ws))(audio_input_message(PCM, "audio/pcm;rate=16000")))
    assert json.loads(ws.sent[0])["realtime_input"]["audio"]["mime_type"] == "audio/pcm;rate=16000"


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: next(iter(m)) + ":" + ",".join(m.get("serverContent", {})))
def test_every_message_comes_in_as_the_sdk_would_parse_it(message):
    raw = json.dumps(message).encode()

    async def run():
        receive = fast_receiver(_session(FakeSocket([raw])))
        assert receive is not None
        return await receive(), await _session(FakeSocket([raw]))._receive()

    ours, theirs = asyncio.run(run())
    assert ours.model_dump() == theirs.model_dump()


def test_only_pure_audio_replies_take_the_fast_path():
    assert audio_reply(MESSAGES[0]) is not None and audio_reply(MESSAGES[1]) is not None
    assert all(audio_reply(m) is None for m in MESSAGES[2:])
    bad = {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "not base64!", "mimeType": "x"}}]}}}
    assert audio_reply(bad) is None


def test_a_closed_socket_raises_the_sdks_error_with_the_close_code():
    async def run():
        receive = fast_receiver(_session(FakeSocket(close=Close(1011, "internal"))))
        await receive()

    with pytest.raises(errors.APIError) as caught:
        asyncio.run(run())
    assert caught.value.code == 1011


def test_vertex_sessions_keep_the_sdk_path():
    client = Client(vertexai=True, project="p", location="us-central1", credentials=object())
    assert fast_receiver(AsyncSession(api_client=client._api_client, websocket=FakeSocket())) is None
