"""One ``google.genai.Client`` per process and endpoint, shared by every call.

Why. Building a ``Client`` builds its HTTP clients, and with no SSL context given, their SSL
contexts: loading the CA bundle takes ~100 ms of CPU (measured by ``bench/call_start.py``), on the
event loop every other call is running on; each client also keeps ~1 MiB of certificate store.
A Live session needs nothing per call from the client (``client.aio.live.connect`` opens a new
WebSocket each time), so calls to the same endpoint with the same key share one.

The cache key is the API key plus the endpoint settings of ``HttpOptions`` (base URL, API
version, headers, timeout) and the identity of the objects in its client arguments (an SSL
context, an httpx client): two options that share one SSL context share one client. At most
:data:`MAX_CLIENTS` are kept (least recently used first out).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from google.genai import Client
from google.genai.types import HttpOptions

MAX_CLIENTS = 16

_clients: OrderedDict[tuple, Client] = OrderedDict()
_lock = threading.Lock()


def _freeze(value: Any) -> Any:
    """A hashable stand-in: plain data by value, anything else (SSL context, client) by identity."""
    if value is None or isinstance(value, (str, int, float, bool, bytes)):
        return value
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return ("id", id(value))


def options_key(http_options: HttpOptions | dict | None) -> tuple:
    """What makes two ``HttpOptions`` interchangeable for a client (see the module docstring)."""
    if http_options is None:
        return ()
    if isinstance(http_options, dict):
        return ("dict", _freeze(http_options))
    fields = {name: getattr(http_options, name) for name in type(http_options).model_fields}
    return ("options", _freeze(fields))


def shared_client(*, http_options: HttpOptions | dict | None = None, **client_kwargs: Any) -> Client:
    """The process's ``Client`` for these arguments, built on first use.

    Args:
        http_options: ``google.genai.types.HttpOptions`` (or its dict form).
        **client_kwargs: Other ``Client`` arguments (``api_key``; or ``vertexai``, ``project``,
            ``location``, ``credentials``: credentials objects are compared by identity).

    Returns:
        A ``google.genai.Client``; the same object for equal arguments while it is cached.
    """
    key = (_freeze(client_kwargs), options_key(http_options))
    with _lock:
        client = _clients.get(key)
        if client is not None:
            _clients.move_to_end(key)
            return client
    client = Client(http_options=http_options, **client_kwargs)
    with _lock:
        # Another thread may have built one meanwhile: keep the first, so every caller shares it.
        client = _clients.setdefault(key, client)
        _clients.move_to_end(key)
        while len(_clients) > MAX_CLIENTS:
            _clients.popitem(last=False)
    return client


def without_ws_compression(http_options: HttpOptions | None) -> HttpOptions:
    """``http_options`` with ``compression=None`` for the Live API WebSocket, unless it sets one.

    google-genai passes the keys of ``async_client_args`` that ``websockets.connect`` takes to
    it; ``compression=None`` declines permessage-deflate. The given object is not changed.
    """
    options = http_options.model_copy() if http_options is not None else HttpOptions()
    args = dict(options.async_client_args or {})
    args.setdefault("compression", None)
    options.async_client_args = args
    return options


def api_key_client(api_key: str | None, http_options: HttpOptions | None, *, compression: bool) -> Client:
    """The shared client for a Google AI API key (``LiveOptions.websocket_compression``:
    ``compression``). One client per process and endpoint: building one per call stalls the
    event loop (see the module docstring)."""
    if not compression:
        http_options = without_ws_compression(http_options)
    return shared_client(api_key=api_key, http_options=http_options)


def clear_shared_clients() -> None:
    """Forget every cached client (tests; a process that rotates its keys)."""
    with _lock:
        _clients.clear()
