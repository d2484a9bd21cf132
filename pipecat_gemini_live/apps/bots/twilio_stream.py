"""Reading a Twilio media stream's opening messages, and closing a stream politely."""

from __future__ import annotations

from fastapi import WebSocket

from ...telephony.twilio_calls import MESSAGE_TOO_BIG, StreamRefused

# `connected` and `start` are a few hundred bytes; media, mark and stop stay under 1 KiB.
MAX_OPENING_BYTES = 4 * 1024


async def receive_opening(websocket: WebSocket, already_read: list[str] | None = None) -> str:
    """One opening message (first those ``already_read``), refused over :data:`MAX_OPENING_BYTES`."""
    if already_read:
        return already_read.pop(0)
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise StreamRefused("the stream closed before its start message", disconnected=True)
    data = message.get("text")
    if data is None:
        data = (message.get("bytes") or b"").decode("utf-8", "replace")
    if len(data) > MAX_OPENING_BYTES:
        raise StreamRefused(f"a message before start was over {MAX_OPENING_BYTES} bytes", code=MESSAGE_TOO_BIG)
    return data


async def close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with a reason; a client that already left is not an error."""
    try:
        await websocket.close(code=code, reason=reason[:120])
    except (RuntimeError, OSError):
        pass
