"""Options of our service that Pipecat's built-in one has no equivalent for.

Everything that also exists on Pipecat's ``GeminiLiveLLMService`` (model, voice, system
instruction, VAD, compression, ...) keeps its Pipecat spelling in ``Settings``; this holds only
the call-survival knobs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LiveOptions(BaseModel):
    """Call-survival options.

    Attributes:
        connect_timeout_s: Longest wait for a session's ``setupComplete``, seconds.
        max_held_audio_s: Caller audio kept while no session can take it (connecting, switching
            persona, reconnecting), in seconds of audio. Older audio is dropped first, and
            counted, when the bound is hit.
        cut_reply_on_switch: On a persona switch, stop the reply in progress at once (like a
            human changing roles). False lets it finish before the switch completes.
        finish_reply_timeout_s: With ``cut_reply_on_switch=False``, the longest wait for the
            reply to finish before switching anyway.
        close_timeout_s: Longest wait for a session's close handshake at hang-up.
        goaway_strategy: How a goAway is met at the next turn boundary: ``"resume"`` the
            session with its handle (full server-side context; the caller's audio is held for
            one setup round trip) or ``"reseed"`` a new session with the history, made before
            the old one closes.
        stall_timeout_s: A session that sends nothing for this long while a reply is owed is
            treated as dead and reconnected; None disables the watchdog.
        stall_on_caller_speech: Count a finished caller sentence as owing a reply (turn off for
            proactive setups where the model may choose not to answer).
        context_compression: Ask for sliding-window context compression unless the settings
            say otherwise, so calls can pass the 15-minute audio-session limit.
        barge_in: Whether caller speech interrupts the bot (``activityHandling``); False sends
            ``NO_INTERRUPTION``.
        audio_stream_end_after_s: With server-side VAD, send ``audioStreamEnd`` when caller
            audio stops arriving for this long (a muted mic, a paused or dropped track), so the
            server ends the turn; None never does.
        output_cushion_ms: The largest playout cushion for reply audio, ms: each reply's first
            audio is held until this much of it is in hand, so a server that streams slower
            than real time does not make the player run dry mid-reply. Adaptive: it starts at
            0 and grows only after an underrun (:mod:`~.playout_cushion`); the latency it adds is
            counted (``service.output_cushion.added_latency_s``). None: off.
        websocket_compression: Offer permessage-deflate on the Live API WebSocket (the SDK's
            default). Off by default: base64 PCM barely compresses, and compressing every
            audio message both ways costs CPU on every call (``bench/REPORT.md``).
        forward_caller_audio: Re-push each ``InputAudioRawFrame`` downstream once it is sent (as
            Pipecat's services do: a recorder placed after the service hears the caller). False
            ends caller audio at the service: where nothing after it reads caller audio (the
            Twilio bot's pipeline), each frame would otherwise cross every later processor for
            no one, a third of a phone call's frame hops (``bench/twilio_messages.py``).
    """

    connect_timeout_s: float = Field(default=10.0, gt=0)
    max_held_audio_s: float = Field(default=10.0, gt=0)
    cut_reply_on_switch: bool = True
    finish_reply_timeout_s: float = Field(default=15.0, gt=0)
    close_timeout_s: float = Field(default=2.0, gt=0)
    goaway_strategy: Literal["resume", "reseed"] = "resume"
    stall_timeout_s: float | None = Field(default=10.0, gt=0)
    stall_on_caller_speech: bool = True
    context_compression: bool = True
    barge_in: bool = True
    audio_stream_end_after_s: float | None = Field(default=1.0, gt=0)
    output_cushion_ms: float | None = Field(default=None, ge=0, le=5000)
    websocket_compression: bool = False
    forward_caller_audio: bool = True
