"""Memory for a phone bot (Twilio): callers known by a keyed hash of their number.

The number arrives in the voice webhook's ``From`` field; the media stream (where the call
runs) does not carry it. So the webhook turns it into a caller key (:func:`.keys.phone_caller_key`)
and hands it to the stream as a ``<Parameter name="caller">``, and binds the call's stream token
to that key (:meth:`PhoneMemory.token_subject`): a stream cannot claim another caller's memory,
and any worker holding the token key can check it, as with the token itself.
"""

from __future__ import annotations

from .deployment import CallerMemory
from .keys import phone_caller_key

CALLER_PARAMETER = "caller"


class PhoneMemory(CallerMemory):
    """A phone bot's memory (see :class:`~.deployment.CallerMemory` for the settings)."""

    def caller_key(self, webhook_params: dict[str, list[str]]) -> str | None:
        """The caller key of a webhook's ``From`` (None for a withheld or non-phone caller)."""
        number = (webhook_params.get("From") or [""])[0]
        return phone_caller_key(number, self._secret)

    @staticmethod
    def token_subject(call_sid: str, caller_key: str | None) -> str:
        """What the call's stream token is bound to: the CallSid, and the caller key if any."""
        return call_sid if not caller_key else f"{call_sid}/{caller_key}"
