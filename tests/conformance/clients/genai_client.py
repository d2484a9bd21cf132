"""Conformance client: the google-genai Python SDK, unmodified (2.x or 3.x: whichever is installed).

Run by tests/conformance with the interpreter of the environment under test; see scenarios.py.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import warnings

from google import genai
from google.genai import types

from scenarios import Closed, main

warnings.simplefilter("ignore")


def _closed(e: BaseException) -> Closed:
    code = getattr(e, "code", None)
    if isinstance(code, int):
        return Closed(code, str(getattr(e, "details", "") or getattr(e, "message", "") or ""))
    rcvd = getattr(e, "rcvd", None)  # websockets ConnectionClosed
    if rcvd is not None:
        return Closed(rcvd.code, rcvd.reason)
    if type(e).__name__.startswith("ConnectionClosed"):
        return Closed(1006, "")
    raise e


def _as_dict(message: types.LiveServerMessage) -> dict:
    body = message.model_dump(by_alias=True, exclude_none=True)
    for part in ((body.get("serverContent") or {}).get("modelTurn") or {}).get("parts", []):
        if "inlineData" in part:
            part["inlineData"] = {"mimeType": part["inlineData"].get("mimeType"), "bytes": len(part["inlineData"].get("data") or b"")}
    return body


class GenaiClient:
    def __init__(self, plan):
        self.plan = plan
        self.ctx = ssl.create_default_context(cafile=plan["ca_file"])
        self.setup_complete = False
        self._cm = None
        self._session = None
        self._queue: asyncio.Queue = asyncio.Queue()
        self._reader = None

    def _client(self, key, api_version=None):
        return genai.Client(
            api_key=key,
            http_options=types.HttpOptions(
                base_url=self.plan["base_url"],
                api_version=api_version or self.plan.get("api_version"),
                client_args={"verify": self.ctx},
                async_client_args={"ssl": self.ctx, "verify": self.ctx},
            ),
        )

    async def connect(self, model, config, token=None):
        await self.close()
        client = self._client(token, "v1alpha") if token else self._client(self.plan["api_key"])
        self._queue = asyncio.Queue()
        self._cm = client.aio.live.connect(model=model, config=types.LiveConnectConfig.model_validate(config))
        try:
            self._session = await self._cm.__aenter__()
        except Exception as e:
            self._cm = None
            raise _closed(e) from e
        self.setup_complete = True
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self):
        try:
            while True:
                async for message in self._session.receive():
                    await self._queue.put(_as_dict(message))
        except Exception as e:
            try:
                await self._queue.put(_closed(e))
            except Exception as other:
                await self._queue.put(Closed(None, f"{type(other).__name__}: {other}"))

    async def recv(self, timeout):
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if isinstance(item, Closed):
            self._queue.put_nowait(item)  # stays closed
            raise item
        return item

    async def send_audio(self, pcm):
        await self._session.send_realtime_input(audio=types.Blob(data=pcm, mime_type="audio/pcm;rate=16000"))

    async def send_text(self, text):
        await self._session.send_realtime_input(text=text)

    async def send_client_content(self, turns, turn_complete):
        await self._session.send_client_content(
            turns=[types.Content.model_validate(t) for t in turns], turn_complete=turn_complete
        )

    async def send_tool_response(self, responses):
        await self._session.send_tool_response(
            function_responses=[types.FunctionResponse.model_validate(r) for r in responses]
        )

    async def create_token(self, spec):
        client = self._client(self.plan["api_key"], "v1alpha")
        token = await client.aio.auth_tokens.create(
            config={
                "uses": spec["uses"],
                "live_connect_constraints": {
                    "model": spec["model"],
                    "config": types.LiveConnectConfig.model_validate(spec["config"]),
                },
            }
        )
        return token.name

    async def close(self):
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
        if self._cm is not None:
            cm, self._cm = self._cm, None
            try:
                await cm.__aexit__(None, None, None)
            except Exception:
                pass


if __name__ == "__main__":
    main(GenaiClient, {"name": "google-genai", "version": genai.__version__, "python": sys.version.split()[0]})
