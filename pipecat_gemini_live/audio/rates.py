"""Sample rates the call's audio paths agree on, in Hz (all PCM16 mono unless said otherwise).

The Live API takes caller audio at 16 kHz natively (other rates are accepted when the message
declares them) and speaks at 24 kHz (``audio/pcm;rate=24000``); a Twilio Media Stream carries
8 kHz mu-law (docs/live-api.md).
"""

LIVE_INPUT_RATE = 16000
"""The Live API's native input rate: what ``AudioResampler`` produces for the service."""

LIVE_OUTPUT_RATE = 24000
"""The rate the Live API's audio replies come at, when a message does not say."""

TWILIO_RATE = 8000
"""Twilio Media Streams: 8 kHz mu-law, mono."""
