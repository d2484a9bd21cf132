"""The emulator's few REST endpoints, served on the WebSocket port.

The SDKs use one base URL for REST and WebSocket calls, so ``client.auth_tokens.create()``
(``POST {base_url}/v1alpha/auth_tokens``) must reach the same port as ``live.connect()``. The
``websockets`` server parses GET handshakes only and refuses request bodies, so a connection
whose first request is anything but GET is answered here before ``websockets`` sees a byte;
GET requests (the WebSocket upgrade) pass through untouched. Each REST response closes its
connection (``Connection: close``), so a keep-alive client simply opens a new one next time.

Errors use Google's JSON error shape (``{"error": {"code", "message", "status"}}``) with the
codes the real API gives: 400 ``INVALID_ARGUMENT`` for a bad key or body, 403
``PERMISSION_DENIED`` for no key, 404 ``NOT_FOUND`` for an unknown path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs

from websockets.asyncio.server import ServerConnection

from .. import wire

if TYPE_CHECKING:
    from ..model.tokens import TokenStore

_MAX_HEAD = 64 * 1024
_MAX_BODY = 1024 * 1024
# The SDKs document ephemeral tokens as v1alpha only; other versions get the 404 an unknown
# method gets.
_AUTH_TOKENS = re.compile(r"/+v1alpha/auth_tokens")


@dataclass
class RestCall:
    """One REST request as the emulator answered it (no headers or body kept: they hold keys)."""

    method: str
    path: str
    status: int


class RestHost(Protocol):
    """The emulator as its REST endpoints use it."""

    rest_calls: list[RestCall]
    tokens: TokenStore

    def accepts_key(self, key: str) -> bool:
        """Whether ``key`` is the emulator's API key."""
        ...


def _error(status: HTTPStatus, message: str, state: str) -> tuple[int, dict]:
    return status.value, {"error": {"code": status.value, "message": message, "status": state}}


class RestApi:
    """Answers REST requests for one emulator.

    Args:
        emulator: Supplies the API key check and the token store; calls are appended to its
            ``rest_calls``.
    """

    def __init__(self, emulator: RestHost):
        self.emu = emulator

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        """Answer one request.

        Args:
            method: HTTP method.
            target: Request target (path and query).
            headers: Header names lower-cased.
            body: The request body.

        Returns:
            ``(status, JSON body)``.
        """
        path, _, query = target.partition("?")
        status, payload = self._answer(method, path, query, headers, body)
        self.emu.rest_calls.append(RestCall(method, path, status))
        return status, payload

    def _answer(self, method, path, query, headers, body) -> tuple[int, dict]:
        if not _AUTH_TOKENS.fullmatch(path):
            return _error(HTTPStatus.NOT_FOUND, f"Method not found: {path}", "NOT_FOUND")
        if method != "POST":
            return _error(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} is not allowed on {path}", "UNIMPLEMENTED")
        key = headers.get("x-goog-api-key") or parse_qs(query).get("key", [None])[0]
        if key is None:
            return _error(
                HTTPStatus.FORBIDDEN,
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
                "PERMISSION_DENIED",
            )
        if not self.emu.accepts_key(key):
            return _error(HTTPStatus.BAD_REQUEST, wire.REASON_BAD_KEY, "INVALID_ARGUMENT")
        try:
            request = json.loads(body or b"{}")
            token = self.emu.tokens.issue_from_rest(request)
        except (ValueError, TypeError, AttributeError) as e:
            return _error(HTTPStatus.BAD_REQUEST, f"Invalid JSON payload received. {e}", "INVALID_ARGUMENT")
        except RecursionError:
            return _error(HTTPStatus.BAD_REQUEST, "Invalid JSON payload received. Nested too deeply.", "INVALID_ARGUMENT")
        return HTTPStatus.OK.value, token.to_rest()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


def connection_class(api: RestApi) -> type[ServerConnection]:
    """A ``websockets`` connection class (for ``serve(create_connection=...)``) that answers
    non-GET requests with ``api`` and hands everything else to ``websockets``."""

    class _FrontConnection(ServerConnection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._sniffing = True
            self._buffer = b""

        def data_received(self, data: bytes) -> None:
            if not self._sniffing:
                super().data_received(data)
                return
            self._buffer += data
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD:
                    self.transport.abort()
                return
            if self._buffer.startswith(b"GET "):
                self._sniffing = False
                buffered, self._buffer = self._buffer, b""
                super().data_received(buffered)
                return
            method, target, headers = _parse_head(self._buffer[:end])
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                length = -1
            if not 0 <= length <= _MAX_BODY:
                self._reply(*_error(HTTPStatus.BAD_REQUEST, "Bad Content-Length", "INVALID_ARGUMENT"))
                return
            body = self._buffer[end + 4 :]
            if len(body) < length:
                return  # the rest of the body is on its way
            self._reply(*api.handle(method, target, headers, body[:length]))

        def _reply(self, status: int, payload: dict) -> None:
            self._sniffing = False
            self._buffer = b""
            body = json.dumps(payload).encode()
            head = (
                f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                "Content-Type: application/json; charset=UTF-8\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            self.transport.write(head + body)
            self.transport.close()

    return _FrontConnection
