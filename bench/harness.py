"""Driving the Twilio bot locally: uvicorn in-process, the TwiML webhook, streamdouble as Twilio.

Used by the telephony benchmark and the Twilio end-to-end tests. Nothing leaves loopback:
the app listens on 127.0.0.1, streamdouble (a Twilio Media Streams simulator from PyPI)
connects to it as Twilio would, with the per-call token the webhook handed out.
"""

from __future__ import annotations

import asyncio
import audioop
import re
import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import httpx
import numpy as np
import uvicorn
from streamdouble.protocol import StreamIdentity
from streamdouble.scenario import Scenario
from streamdouble.session import Session, SessionConfig, SessionResult
from twilio.request_validator import RequestValidator

from pipecat_gemini_live.apps.transports.wav import WavAudio

FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law


@dataclass
class Served:
    """A running app: ``base_url`` is ``http://127.0.0.1:PORT``."""

    base_url: str

    @property
    def stream_url(self) -> str:
        """The media-stream WebSocket URL."""
        return self.base_url.replace("http://", "ws://", 1) + "/media-stream"


@asynccontextmanager
async def serve(app, *, port: int = 0, timeout_s: float = 10.0, **options) -> AsyncIterator[Served]:
    """Run ``app`` under uvicorn on loopback for the duration of the block.

    Args:
        app: The ASGI app.
        port: The port (0: a free one).
        timeout_s: How long to wait for uvicorn to start, seconds.
        **options: More ``uvicorn.Config`` settings (``ws_max_size``...).
    """
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **options)
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("uvicorn did not start")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task


def webhook_form(call_sid: str, account_sid: str = "AC" + "0" * 32) -> dict[str, str]:
    """The fields Twilio POSTs to the voice webhook for an incoming call (the ones the bot reads)."""
    return {
        "CallSid": call_sid,
        "AccountSid": account_sid,
        "From": "+15550001111",
        "To": "+15550002222",
        "Direction": "inbound",
    }


async def post_webhook(
    served: Served,
    call_sid: str,
    *,
    auth_token: str | None = None,
    account_sid: str = "AC" + "0" * 32,
    headers: dict | None = None,
) -> httpx.Response:
    """POST the TwiML webhook as Twilio does for an incoming call (signed when ``auth_token`` is given)."""
    form = webhook_form(call_sid, account_sid)
    headers = dict(headers or {})
    if auth_token is not None:
        headers["X-Twilio-Signature"] = RequestValidator(auth_token).compute_signature(
            served.base_url + "/twiml", form
        )
    async with httpx.AsyncClient() as client:
        return await client.post(served.base_url + "/twiml", data=form, headers=headers)


def free_port() -> int:
    """A loopback TCP port nothing listens on now (for an app that must know its URL up front)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stream_target(twiml: str) -> str:
    """The ``<Stream url=...>`` of a ``<Connect><Stream>`` answer."""
    m = re.search(r'<Stream url="([^"]+)"', twiml)
    if m is None:
        raise ValueError(f"no stream URL in TwiML: {twiml!r}")
    return m.group(1)


def stream_parameters(twiml: str) -> dict[str, str]:
    """Every ``<Parameter>`` of a ``<Connect><Stream>`` answer (Twilio hands them all to the
    stream's ``start`` as ``customParameters``)."""
    return dict(re.findall(r'<Parameter name="([^"]+)" value="([^"]*)"', twiml))


def stream_token(twiml: str) -> str:
    """The per-call token in a ``<Connect><Stream>`` answer."""
    m = re.search(r'<Parameter name="token" value="([^"]+)"', twiml)
    if m is None:
        raise ValueError(f"no token parameter in TwiML: {twiml!r}")
    return m.group(1)


def ulaw_frames(audio: WavAudio) -> list[bytes]:
    """A recording as Twilio sends it: 20 ms frames of 8 kHz mu-law (the last one padded).

    Raises:
        ValueError: When the recording is not 8 kHz.
    """
    if audio.sample_rate != 8000:
        raise ValueError(
            f"{audio.path}: Twilio carries 8000 Hz audio, this is {audio.sample_rate} Hz"
        )
    ulaw = audioop.lin2ulaw(audio.mono().astype(np.int16).tobytes(), 2)
    ulaw += b"\xff" * (-len(ulaw) % FRAME_BYTES)
    return [ulaw[i : i + FRAME_BYTES] for i in range(0, len(ulaw), FRAME_BYTES)]


async def place_call(
    served: Served,
    *,
    frames: Sequence[bytes] | None = None,
    scenario: Scenario | None = None,
    identity: StreamIdentity | None = None,
    token: str | None = "from-webhook",
    auth_token: str | None = None,
    config: SessionConfig | None = None,
) -> SessionResult:
    """One simulated Twilio call: the webhook first (for the token), then the media stream.

    Args:
        served: The running bot.
        frames: Caller audio (20 ms mu-law frames), or
        scenario: a streamdouble scenario.
        identity: The stream's SIDs (fresh ones by default).
        token: ``"from-webhook"`` to use the webhook's token, another string to send that
            token, None to send none.
        auth_token: Sign the webhook request with it (an app with ``TWILIO_AUTH_TOKEN`` wants that).
        config: streamdouble settings (``custom_parameters`` gets the token).

    Returns:
        streamdouble's result (events on ``time.monotonic()``, received audio, clears...).

    Raises:
        httpx.HTTPStatusError: The webhook refused the call.
    """
    identity = identity or StreamIdentity()
    url = served.stream_url
    if token == "from-webhook":
        answer = await post_webhook(
            served, identity.call_sid, auth_token=auth_token, account_sid=identity.account_sid
        )
        answer.raise_for_status()
        token = stream_token(answer.text)
        url = stream_target(answer.text)  # where Twilio would connect
        forwarded = stream_parameters(answer.text)
    else:
        forwarded = {}
    config = config or SessionConfig()
    params = {**forwarded, **config.custom_parameters}
    if token is not None:
        params["token"] = token
    config = replace(config, custom_parameters=params)
    session = Session(
        url,
        frames,
        scenario=scenario,
        config=config,
        identity=identity,
        clock=time.monotonic,
    )
    return await session.run()
