"""Before and after, per message and per chunk: what each of our hot-path changes saves.

    .venv/bin/python -m bench.micro

CPU time (``time.process_time``) per operation, median of 5 batches, on this machine:

- reply audio in (one 40 ms 24 kHz ``serverContent`` message, JSON text to ``LiveServerMessage``):
  the SDK's conversion, pydantic ``model_construct``, and :mod:`pipecat_gemini_live.call.fast_wire`;
- caller audio out (100 ms of 16 kHz PCM to the JSON text sent): the SDK's conversion and
  :func:`~pipecat_gemini_live.call.fast_wire.audio_input_message`;
- a caller ``media`` message in (Twilio's JSON text to mu-law bytes, checked):
  ``json.loads`` then the pydantic model (before), pydantic's ``model_validate_json`` (after);
- permessage-deflate of that message (what ``LiveOptions.websocket_compression`` costs per send);
- resampling a 20 ms 8 -> 16 kHz frame and a 40 ms 24 -> 8 kHz chunk: libsamplerate
  ``sinc_medium`` (before), the polyphase FIR (after), soxr ``VHQ`` (Pipecat's, block-based);
- building a ``genai.Client``: with no SSL context given (default), and with a shared one.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import statistics
import sys
import time
import zlib

import numpy as np


def _per_op_us(fn, n: int, batches: int = 5) -> float:
    times = []
    for _ in range(batches):
        t = time.process_time()
        for _ in range(n):
            fn()
        times.append((time.process_time() - t) / n * 1e6)
    return round(statistics.median(times), 2)


def measure() -> dict:
    """Every figure in the module docstring, in microseconds per operation."""
    from google.genai import Client, types
    from google.genai import _live_converters as conv
    from google.genai import _common

    from pipecat_gemini_live.call.fast_wire import audio_input_message, audio_reply
    from pipecat_gemini_live.audio.stream_resampler import create_resampler

    out: dict = {}
    pcm24 = (np.random.default_rng(0).standard_normal(960) * 3000).astype(np.int16).tobytes()
    reply = json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": base64.b64encode(pcm24).decode(), "mimeType": "audio/pcm;rate=24000"}}]}}})
    empty = types.LiveServerMessage().model_dump()

    def sdk_in():
        types.LiveServerMessage._from_response(response=conv._LiveServerMessage_from_mldev(json.loads(reply)), kwargs=dict(empty))

    def construct_in():
        raw = json.loads(reply)
        blob = raw["serverContent"]["modelTurn"]["parts"][0]["inlineData"]
        part = types.Part.model_construct(inline_data=types.Blob.model_construct(data=base64.b64decode(blob["data"]), mime_type=blob["mimeType"]))
        types.LiveServerMessage.model_construct(server_content=types.LiveServerContent.model_construct(model_turn=types.Content.model_construct(parts=[part])))

    out["reply_in_us"] = {
        "sdk": _per_op_us(sdk_in, 1000),
        "model_construct": _per_op_us(construct_in, 1000),
        "fast_wire": _per_op_us(lambda: audio_reply(json.loads(reply)), 1000),
    }

    pcm16 = (np.random.default_rng(1).standard_normal(1600) * 3000).astype(np.int16).tobytes()

    def sdk_out():
        realtime = types.LiveSendRealtimeInputParameters.model_validate({"audio": types.Blob(data=pcm16, mime_type="audio/pcm;rate=16000")})
        d = _common.encode_unserializable_types(_common.convert_to_dict(conv._LiveSendRealtimeInputParameters_to_mldev(from_object=realtime)))
        json.dumps({"realtime_input": d})

    out["caller_out_us"] = {
        "sdk": _per_op_us(sdk_out, 1000),
        "fast_wire": _per_op_us(lambda: audio_input_message(pcm16, "audio/pcm;rate=16000"), 1000),
    }
    from pipecat_gemini_live.telephony.twilio_input import _media_payload, _media_payload_checked

    media = json.dumps(
        {
            "event": "media",
            "sequenceNumber": "42",
            "media": {"track": "inbound", "chunk": "41", "timestamp": "820", "payload": base64.b64encode(bytes(range(160))).decode()},
            "streamSid": "MZ" + "0" * 32,
        }
    )
    out["media_in_us"] = {
        "two_step": _per_op_us(lambda: _media_payload_checked(media), 5000),
        "one_pass": _per_op_us(lambda: _media_payload(media), 5000),
    }
    # Recorded speech, 100 ms per message, each message different (deflate keeps its context).
    from pipecat_gemini_live.apps.transports.wav import load_wav
    from bench.load import CALLER_8K

    speech = load_wav(CALLER_8K.with_name("caller_3turns_16k.wav")).mono().astype(np.int16)
    texts = [audio_input_message(speech[i : i + 1600].tobytes(), "audio/pcm;rate=16000") for i in range(0, speech.size - 1600, 1600)]
    deflate = zlib.compressobj(wbits=-15)
    sizes = []

    def compress(i=[0]):
        t = texts[i[0] % len(texts)]
        i[0] += 1
        sizes.append(len(deflate.compress(t) + deflate.flush(zlib.Z_SYNC_FLUSH)) / len(t))

    out["deflate_per_message_us"] = _per_op_us(compress, len(texts), batches=3)
    out["deflate_ratio"] = round(statistics.median(sizes), 3)

    async def resample_cost(quality: str, pcm: bytes, in_rate: int, out_rate: int) -> float:
        r = create_resampler(quality)
        await r.resample(pcm, in_rate, out_rate)
        t0 = time.process_time()
        n = 2000
        for _ in range(n):
            await r.resample(pcm, in_rate, out_rate)
        return round((time.process_time() - t0) / n * 1e6, 2)

    frame8 = (np.random.default_rng(2).standard_normal(160) * 3000).astype(np.int16).tobytes()
    out["resample_us"] = {}
    for q in ("sinc_medium", "polyphase", "VHQ"):
        out["resample_us"][q] = {
            "8k->16k per 20 ms": asyncio.run(resample_cost(q, frame8, 8000, 16000)),
            "24k->8k per 40 ms": asyncio.run(resample_cost(q, pcm24, 24000, 8000)),
        }

    def build_default():
        Client(api_key="x", http_options=types.HttpOptions(base_url="https://127.0.0.1:9"))

    ctx = ssl.create_default_context()

    def build_shared_ctx():
        Client(api_key="x", http_options=types.HttpOptions(base_url="https://127.0.0.1:9", async_client_args={"ssl": ctx, "verify": ctx}, client_args={"verify": ctx}))

    out["client_build_ms"] = {
        "default": round(_per_op_us(build_default, 3, batches=3) / 1000, 2),
        "shared_ssl_context": round(_per_op_us(build_shared_ctx, 10, batches=3) / 1000, 2),
        "shared_client": 0.0,
    }
    return out


def main() -> int:
    from loguru import logger

    logger.remove()
    print(json.dumps(measure(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
