"""What the emulator saw, for tests to assert on: one record per connection."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    """One reply the emulated model gave (or began before it was interrupted)."""

    text: str
    persona: str
    remembered_turns: int
    interrupted: bool = False
    spoken_text: str = ""
    audio_s: float = 0.0
    started_at: float = field(default_factory=time.monotonic)  # composed; its first chunk follows


@dataclass
class SessionRecord:
    """One WebSocket connection as the emulator saw it.

    Attributes:
        index: Order of arrival (0 = first connection of this emulator).
        api_version: ``v1`` / ``v1beta`` / ``v1alpha`` from the path.
        method: ``BidiGenerateContent`` or ``BidiGenerateContentConstrained``.
        model: ``setup.model``.
        setup: The raw ``setup`` body.
        resumed_from: The handle this connection resumed, if any.
        messages: ``(seconds since open, kind)`` for the latest client messages (bounded, so a
            long-running emulator does not grow; audio payloads are counted, not kept).
        counts: Client messages by kind, over the whole connection.
        client_content: Raw ``clientContent`` bodies, in order.
        tool_responses: Raw ``toolResponse`` function responses, in order.
        tool_calls: The function calls made (``id``, ``name``, ``args``, ``blocking``, and
            ``at``: ``time.monotonic()`` when the ``toolCall`` went out).
        context_updates: Raw ``contextUpdate`` bodies, in order.
        texts: ``realtimeInput.text`` values, in order.
        audio_bytes: PCM bytes received in ``realtimeInput.audio``.
        audio_rates: Sample rates seen in audio mime types.
        replies: What the model said.
        client_close_code: Close code the client sent (None if it did not close first).
        server_close_code: Close code the emulator sent (None if it did not).
        close_reason: Reason that went with the first close frame.
        silenced: Whether the session went silent for good (2.5 system-role field behaviour).
        auth: ``"api_key"`` or ``"ephemeral_token"`` once the credential was accepted.
        client: Identity headers the client sent (``user-agent``, ``x-goog-api-client``).
        client_setup: The setup as the client sent it, when an ephemeral token's locked
            fields changed it (``setup`` then holds the setup the session ran with).
    """

    index: int
    api_version: str
    method: str
    opened_at: float = field(default_factory=time.monotonic)
    model: str | None = None
    setup: dict | None = None
    resumed_from: str | None = None
    messages: deque = field(default_factory=lambda: deque(maxlen=5_000))
    counts: Counter = field(default_factory=Counter)
    client_content: list[dict] = field(default_factory=list)
    tool_responses: list[dict] = field(default_factory=list)
    context_updates: list[dict] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    audio_bytes: int = 0
    audio_rates: set[int] = field(default_factory=set)
    activity: list[str] = field(default_factory=list)
    tool_calls: list[dict] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    client_close_code: int | None = None
    server_close_code: int | None = None
    close_reason: str = ""
    closed_at: float | None = None
    silenced: bool = False
    auth: str | None = None
    client: dict[str, str] = field(default_factory=dict)
    client_setup: dict | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def note(self, kind: str) -> None:
        """Log one client message by kind."""
        self.messages.append((time.monotonic() - self.opened_at, kind))
        self.counts[kind] += 1

    @property
    def closed(self) -> bool:
        """Whether the connection has ended."""
        return self.closed_at is not None

    @property
    def close_code(self) -> int | None:
        """The close code that ended the connection, whoever sent it first."""
        return self.client_close_code if self.client_close_code is not None else self.server_close_code

    def kinds(self) -> list[str]:
        """Kinds of all client messages, in order."""
        return [k for _, k in self.messages]
