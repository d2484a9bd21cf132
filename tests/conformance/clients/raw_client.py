"""Conformance client: a raw WebSocket client speaking pure camelCase with standard base64.

No SDK: the wire format exactly as the Live API reference writes it, over the ``websockets``
library, and the token REST call over ``urllib``. See scenarios.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import sys
import urllib.error
import urllib.request

import websockets

from scenarios import Closed, main

_PATH = "/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"


def _setup(model: str, config: dict) -> dict:
    """A LiveConnectConfig-style dict as the wire ``setup`` (what the SDKs build)."""
    config = dict(config)
    setup: dict = {"model": model if model.startswith("models/") else f"models/{model}"}
    generation = {}
    if "responseModalities" in config:
        generation["responseModalities"] = config.pop("responseModalities")
    if generation:
        setup["generationConfig"] = generation
    if "systemInstruction" in config:
        setup["systemInstruction"] = {"parts": [{"text": config.pop("systemInstruction")}]}
    setup.update(config)
    return setup


def _normalise(msg: dict) -> dict:
    for part in ((msg.get("serverContent") or {}).get("modelTurn") or {}).get("parts", []):
        if "inlineData" in part:
            data = part["inlineData"].get("data", "")
            part["inlineData"] = {"mimeType": part["inlineData"].get("mimeType"), "bytes": len(base64.b64decode(data))}
    return msg


class RawClient:
    def __init__(self, plan):
        self.plan = plan
        self.ctx = ssl.create_default_context(cafile=plan["ca_file"])
        self.ws = None
        self.setup_complete = False
        self.base = plan["base_url"].replace("https://", "wss://")

    async def connect(self, model, config, token=None):
        await self.close()
        version = "v1alpha" if token else (self.plan.get("api_version") or "v1beta")
        if token:
            url = self.base + _PATH.format(version=version, method="BidiGenerateContentConstrained")
            headers = {"Authorization": f"Token {token}"}
        else:
            url = self.base + _PATH.format(version=version, method="BidiGenerateContent")
            headers = {"x-goog-api-key": self.plan["api_key"]}
        self.ws = await websockets.connect(url, ssl=self.ctx, additional_headers=headers)
        await self.ws.send(json.dumps({"setup": _setup(model, config)}))
        first = await self.recv(10)
        self.setup_complete = "setupComplete" in first

    async def recv(self, timeout):
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.exceptions.ConnectionClosed as e:
            if e.rcvd is None:
                raise Closed(1006, "") from e
            raise Closed(e.rcvd.code, e.rcvd.reason) from e
        return _normalise(json.loads(raw))

    async def _send(self, msg):
        await self.ws.send(json.dumps(msg))

    async def send_audio(self, pcm):
        data = base64.b64encode(pcm).decode("ascii")
        await self._send({"realtimeInput": {"audio": {"data": data, "mimeType": "audio/pcm;rate=16000"}}})

    async def send_text(self, text):
        await self._send({"realtimeInput": {"text": text}})

    async def send_client_content(self, turns, turn_complete):
        await self._send({"clientContent": {"turns": turns, "turnComplete": turn_complete}})

    async def send_tool_response(self, responses):
        await self._send({"toolResponse": {"functionResponses": responses}})

    async def create_token(self, spec):
        body = {"uses": spec["uses"], "bidiGenerateContentSetup": _setup(spec["model"], spec["config"])}
        request = urllib.request.Request(
            self.plan["base_url"] + "/v1alpha/auth_tokens",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "x-goog-api-key": self.plan["api_key"]},
            method="POST",
        )

        def post():
            with urllib.request.urlopen(request, context=self.ctx, timeout=10) as response:
                return json.loads(response.read())

        return (await asyncio.to_thread(post))["name"]

    async def close(self):
        if self.ws is not None:
            ws, self.ws = self.ws, None
            await ws.close()


if __name__ == "__main__":
    main(RawClient, {"name": "raw-websocket", "version": websockets.__version__, "python": sys.version.split()[0]})
