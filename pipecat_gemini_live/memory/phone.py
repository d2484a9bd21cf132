"""Memory for a phone bot (Twilio): callers known by a keyed hash of their number.

The number arrives in the voice webhook's ``From`` field; the media stream (where the call
runs) does not carry it. So the webhook turns it into a caller key (:func:`.keys.phone_caller_key`)
and hands it to the stream as a ``<Parameter name="caller">``, and binds the call's stream token
to that key (:meth:`PhoneMemory.token_subject`): a stream cannot claim another caller's memory,
and any worker holding the token key can check it, as with the token itself.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from loguru import logger

from .call import CallMemory
from .keys import caller_secret, phone_caller_key
from .store import MemoryPolicy, MemoryStore, default_url

if TYPE_CHECKING:
    from ..service import GeminiLiveLLMService

CALLER_PARAMETER = "caller"
_ON = ("1", "on", "true", "yes")


class PhoneMemory:
    """A phone bot's memory: the store and the deployment's caller-key secret.

    Args:
        store: Where turns are kept.
        secret: The caller-key secret (:func:`.keys.caller_secret`).
    """

    def __init__(self, store: MemoryStore, secret: bytes):
        self.store = store
        self._secret = secret

    def __repr__(self) -> str:
        return f"PhoneMemory({self.store.url})"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> PhoneMemory | None:
        """On when ``CALLER_MEMORY`` is ``on`` (or 1/true/yes), else None. The store is
        ``MEMORY_DATABASE_URL`` or the data directory's SQLite file; the window and retention
        come from :meth:`.store.MemoryPolicy.from_env`."""
        env = os.environ if env is None else env
        if (env.get("CALLER_MEMORY") or "").strip().lower() not in _ON:
            return None
        store = MemoryStore(default_url(env), policy=MemoryPolicy.from_env(env))
        logger.info(f"memory: callers are remembered in {store.url}")
        return cls(store, caller_secret(env))

    def caller_key(self, webhook_params: dict[str, list[str]]) -> str | None:
        """The caller key of a webhook's ``From`` (None for a withheld or non-phone caller)."""
        number = (webhook_params.get("From") or [""])[0]
        return phone_caller_key(number, self._secret)

    @staticmethod
    def token_subject(call_sid: str, caller_key: str | None) -> str:
        """What the call's stream token is bound to: the CallSid, and the caller key if any."""
        return call_sid if not caller_key else f"{call_sid}/{caller_key}"

    async def open_call(self, service: "GeminiLiveLLMService", caller_key: str | None, call_sid: str) -> CallMemory | None:
        """The call's memory, loaded into ``service`` (None when the caller has no key)."""
        if not caller_key:
            return None
        return await CallMemory.open(service, self.store, caller_key, call_sid)

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()
