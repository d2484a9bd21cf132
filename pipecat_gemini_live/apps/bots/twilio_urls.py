"""The URLs a Twilio webhook answers with: the one Twilio signed, and the media stream's.

Twilio signs the exact URL it requested, so behind a proxy the app must know its public URL;
nothing a client sends (``X-Forwarded-Host``) may choose it.
"""

from __future__ import annotations

from starlette.requests import Request

STREAM_PATH = "/media-stream"


def request_url(request: Request, public_url: str | None) -> str:
    """The URL Twilio requested: ``public_url`` + path and query.

    Without ``public_url`` (development, no signature check): the request's scheme (uvicorn
    takes ``X-Forwarded-Proto`` from the proxies in its ``forwarded_allow_ips`` only) and its
    ``Host`` header. ``X-Forwarded-Host`` is never read: anyone can send it.
    """
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if public_url:
        return public_url.rstrip("/") + path
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}{path}"


def stream_url(request: Request, public_url: str | None, call_sid: str) -> str:
    """``wss://HOST/media-stream/CALLSID`` (``ws://`` when the app is reached over plain HTTP).

    The CallSid in the path lets a load balancer send every stream of one call to the same
    instance (hash on the path), where the one-live-stream-per-call rule is kept.
    """
    base = request_url(request, public_url)
    scheme, _, rest = base.partition("://")
    host = rest.split("/", 1)[0]
    return f"{'wss' if scheme == 'https' else 'ws'}://{host}{STREAM_PATH}/{call_sid}"
