"""Pipecat's Twilio serializer behind a check of what the caller's side sends.

Pipecat's ``TwilioFrameSerializer.deserialize`` trusts Twilio's message shapes: a ``media``
whose ``media`` is a number, or a payload that is not base64, raises inside the transport's
receive loop (an error per message), and a message that is not JSON is logged whole. An
admitted stream is authenticated, but its content still comes over the network:
:class:`CheckedTwilioSerializer` drops any message :func:`~.twilio_messages.check_call_message`
refuses, saying so once per call, and hands the rest to Pipecat.
"""

from __future__ import annotations

from loguru import logger
from pipecat.frames.frames import Frame
from pipecat.serializers.twilio import TwilioFrameSerializer

from .twilio_messages import check_call_message


class CheckedTwilioSerializer(TwilioFrameSerializer):
    """``TwilioFrameSerializer`` that drops malformed incoming messages (same arguments).

    Attributes:
        dropped: Messages dropped so far on this call.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dropped = 0

    async def deserialize(self, data: str | bytes) -> Frame | None:
        """The frame for a Twilio message, or None (ignored, or dropped as malformed)."""
        reason = check_call_message(data)
        if reason is not None:
            self.dropped += 1
            if self.dropped == 1:
                logger.warning(f"{self}: dropping malformed stream messages ({reason}); further drops are not logged")
            return None
        return await super().deserialize(data)
