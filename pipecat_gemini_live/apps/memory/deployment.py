"""A deployment's memory: the store plus the caller-key secret, shared by every call of a bot.

Each bot turns its own notion of a caller into a key (:mod:`.keys`) and opens one
:class:`~.call.CallMemory` per call; this class holds what those need and reads the settings
from the environment: ``CALLER_MEMORY=on`` turns memory on (it is off unless asked for: what
callers say is kept), ``MEMORY_DATABASE_URL`` (default: the data directory's SQLite file),
``MEMORY_MAX_TURNS``, ``MEMORY_MAX_MINUTES``, ``MEMORY_RETENTION_DAYS``, ``CALLER_KEY_SECRET``,
``MEMORY_COOKIE_MAX_DAYS`` (how old a browser's caller cookie may be; default: the retention,
at most 400 days).
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, TypeVar

from loguru import logger

from .call import CallMemory
from .keys import CookieSigner, caller_secret, participant_caller_key
from .store import MemoryPolicy, MemoryStore, default_url

if TYPE_CHECKING:
    from ...service import GeminiLiveLLMService

_ON = ("1", "on", "true", "yes")
MAX_COOKIE_AGE_S = 400 * 86400  # the most browsers keep a cookie
T = TypeVar("T", bound="CallerMemory")


class CallerMemory:
    """The store and the caller-key secret of one deployment.

    Args:
        store: Where turns are kept.
        secret: The caller-key secret (:func:`.keys.caller_secret`).
        cookie_max_age_s: The oldest browser cookie accepted, seconds (None: the store's
            retention, at most 400 days).
    """

    def __init__(self, store: MemoryStore, secret: bytes, *, cookie_max_age_s: float | None = None):
        self.store = store
        self._secret = secret
        if cookie_max_age_s is None:
            cookie_max_age_s = min(store.policy.retention_s or MAX_COOKIE_AGE_S, MAX_COOKIE_AGE_S)
        self.cookies = CookieSigner(secret, max_age_s=cookie_max_age_s)

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
        cookie_days = env.get("MEMORY_COOKIE_MAX_DAYS") or None
        if cookie_days is not None:
            days = float(cookie_days)
            if not math.isfinite(days) or days <= 0:
                raise ValueError(f"MEMORY_COOKIE_MAX_DAYS={cookie_days!r}: a positive number of days")
        policy = MemoryPolicy.from_env(env)
        store = MemoryStore(default_url(env), policy=policy)
        logger.info(f"memory: callers are remembered in {store.url}")
        max_age = None if cookie_days is None else min(days * 86400, MAX_COOKIE_AGE_S)
        return cls(store, caller_secret(env), cookie_max_age_s=max_age)

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
        """How long a browser keeps its caller cookie, seconds: the age past which the server
        refuses it too (:class:`~.keys.CookieSigner`)."""
        return int(self.cookies.max_age_s)

    def participant_key(self, participant_id: str) -> str:
        """The key of a participant id the application vouches for (see :mod:`.keys`)."""
        return participant_caller_key(participant_id, self._secret)

    async def open_call(self, service: "GeminiLiveLLMService", caller_key: str | None, call_id: str) -> CallMemory | None:
        """The call's memory, loaded into ``service`` before it starts (None without a key)."""
        if not caller_key:
            return None
        return await CallMemory.open(service, self.store, caller_key, call_id)

    def close(self) -> None:
        """Release the store's connections (at the app's shutdown; the engine is disposed)."""
        self.store.close()
