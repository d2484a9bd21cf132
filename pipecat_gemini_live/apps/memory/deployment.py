"""A deployment's memory: the store plus the caller-key secret, shared by every call of a bot.

Each bot turns its own notion of a caller into a key (:mod:`.keys`) and opens one
:class:`~.call.CallMemory` per call; this class holds what those need and reads the settings
from the environment: ``CALLER_MEMORY=on`` turns memory on (it is off unless asked for: what
callers say is kept), ``MEMORY_DATABASE_URL`` (default: the data directory's SQLite file),
``MEMORY_MAX_TURNS``, ``MEMORY_MAX_MINUTES``, ``MEMORY_RETENTION_DAYS``, ``CALLER_KEY_SECRET``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TypeVar

from loguru import logger

from .call import CallMemory
from .keys import CookieSigner, caller_secret, participant_caller_key
from .store import MemoryPolicy, MemoryStore, default_url

if TYPE_CHECKING:
    from ...service import GeminiLiveLLMService

_ON = ("1", "on", "true", "yes")
T = TypeVar("T", bound="CallerMemory")


class CallerMemory:
    """The store and the caller-key secret of one deployment.

    Args:
        store: Where turns are kept.
        secret: The caller-key secret (:func:`.keys.caller_secret`).
    """

    def __init__(self, store: MemoryStore, secret: bytes):
        self.store = store
        self._secret = secret
        self.cookies = CookieSigner(secret)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store.url})"

    @classmethod
    def from_env(cls: type[T], env: dict[str, str] | None = None) -> T | None:
        """The deployment's memory when ``CALLER_MEMORY`` is on, else None.

        Raises:
            ValueError: A malformed ``MEMORY_*`` number.
            sqlalchemy.exc.SQLAlchemyError: The database cannot be opened.
        """
        env = os.environ if env is None else env
        if (env.get("CALLER_MEMORY") or "").strip().lower() not in _ON:
            return None
        store = MemoryStore(default_url(env), policy=MemoryPolicy.from_env(env))
        logger.info(f"memory: callers are remembered in {store.url}")
        return cls(store, caller_secret(env))

    def browser_key(self, cookie: str | None) -> tuple[str, str | None]:
        """``(caller key, cookie to set)`` for a browser that sent ``cookie`` (the value of
        :data:`~.keys.COOKIE_NAME`, or None): its own key when the cookie is one of ours, else a
        new caller with a new cookie for the browser to keep."""
        key = self.cookies.caller_key(cookie)
        if key is not None:
            return key, None
        fresh = self.cookies.new()
        return self.cookies.caller_key(fresh), fresh

    @property
    def cookie_max_age_s(self) -> int:
        """How long a browser keeps its caller cookie: the retention limit, at most the 400
        days browsers allow."""
        retention = self.store.policy.retention_s
        return int(min(retention or 400 * 86400, 400 * 86400))

    def participant_key(self, participant_id: str) -> str:
        """The key of a participant id the application vouches for (see :mod:`.keys`)."""
        return participant_caller_key(participant_id, self._secret)

    async def open_call(self, service: "GeminiLiveLLMService", caller_key: str | None, call_id: str) -> CallMemory | None:
        """The call's memory, loaded into ``service`` before it starts (None without a key)."""
        if not caller_key:
            return None
        return await CallMemory.open(service, self.store, caller_key, call_id)

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()
