"""Emulator settings: timing, VAD, limits. Faults and scenarios live in their own modules."""

from __future__ import annotations

import secrets

from pydantic import BaseModel, Field


class EmulatorConfig(BaseModel):
    """How the emulated Live API behaves.

    Attributes:
        api_key: The key clients must send (``x-goog-api-key`` or ``?key=``). Random per run
            unless set; it guards nothing but loopback, yet a wrong key must fail like the real
            service (close 1008).
        think_ms: Time between the end of the caller's turn and the first reply chunk, ms.
        default_silence_ms: End-of-speech silence when the setup sets no ``silenceDurationMs``.
        vad_threshold_dbfs: Speech threshold of the energy VAD (RMS per 10 ms, dBFS).
        chunk_ms: Duration of audio in each reply message, ms (24 kHz PCM16: 48 bytes per ms).
        pace: Reply audio is sent at ``pace`` times real time (1.0 = as fast as it plays).
        words_per_minute: Speaking rate of the synthesized replies.
        setup_timeout_s: How long a connection may wait before sending ``setup``.
        handle_ttl_s: How long a resumption handle stays valid (the real service: about 2 h).
    """

    api_key: str = Field(default_factory=lambda: "emu-" + secrets.token_urlsafe(12))
    think_ms: int = Field(default=200, ge=0)
    default_silence_ms: int = Field(default=500, ge=20)
    vad_threshold_dbfs: float = -45.0
    chunk_ms: int = Field(default=40, ge=10, le=2000)
    pace: float = Field(default=1.0, gt=0)
    words_per_minute: int = Field(default=190, ge=80, le=450)
    setup_timeout_s: float = Field(default=30.0, gt=0)
    handle_ttl_s: float = Field(default=7200.0, gt=0)
