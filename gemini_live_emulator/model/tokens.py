"""Ephemeral auth tokens: minted by the emulator, spent on ``BidiGenerateContentConstrained``.

What is reproduced (the Live API's ephemeral-token guide and the SDKs' ``auth_tokens.create``;
the SDKs call the feature experimental and v1alpha only):

- A token is created with an API key (REST ``POST /v1alpha/auth_tokens``, or
  :meth:`TokenStore.issue` in-process). Its name, ``auth_tokens/...``, is what a client then
  uses in place of the key: the Python SDK sends it as ``Authorization: Token <name>``, the
  JavaScript SDK as the ``access_token`` query parameter, both on the ``...Constrained`` method.
- ``uses`` (default 1; 0 = unlimited) counts new sessions; resuming a session does not count.
- ``newSessionExpireTime`` (default 60 s ahead): no new session after it.
  ``expireTime`` (default 30 min ahead): no session at all after it. (The real service may also
  end a running session at ``expireTime``; the emulator only checks it at connect.)
- ``bidiGenerateContentSetup`` (the SDK's ``live_connect_constraints``) locks the setup. Without
  a ``fieldMask`` every field is locked: the token's setup is used and the client's ignored.
  With a ``fieldMask`` only the listed fields (``generationConfig.temperature`` style paths;
  top-level names lock the whole field) take the token's values, the rest are the client's.

A token refused at connect closes the connection with 1008 and the real service's wording for
a bad key: to a client there is no difference between an unknown key and a spent token.
"""

from __future__ import annotations

import copy
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .. import wire

DEFAULT_EXPIRE_S = 30 * 60.0
DEFAULT_NEW_SESSION_EXPIRE_S = 60.0
TOKEN_PREFIX = "auth_tokens/"


@dataclass
class EphemeralToken:
    """One minted token.

    Attributes:
        name: ``auth_tokens/<random>``: what the client sends instead of an API key.
        uses: New sessions allowed (0 = unlimited).
        expire_at: Wall-clock time (epoch seconds) after which the token is refused.
        new_session_expire_at: Wall-clock time after which no new session may start.
        setup: The locked ``setup`` fields (camelCase, as ``bidiGenerateContentSetup``), or None
            for an unconstrained token.
        field_mask: Paths locked when only some fields are (None: all of ``setup``).
        used: Sessions started with it so far.
    """

    name: str
    uses: int = 1
    expire_at: float = 0.0
    new_session_expire_at: float = 0.0
    setup: dict | None = None
    field_mask: list[str] | None = None
    used: int = 0

    def to_rest(self) -> dict:
        """The ``AuthToken`` resource as the REST endpoint returns it."""
        return {"name": self.name}


def _epoch(value: Any, default: float) -> float:
    """An RFC 3339 timestamp (``2025-05-01T00:00:00Z``) or epoch seconds as epoch seconds."""
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as e:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _camel_keys(obj: Any) -> Any:
    """Top-two-level keys in camelCase (the level a field mask can name)."""
    if not isinstance(obj, dict):
        return obj
    return {_camel(k): (_camel_keys_flat(v) if isinstance(v, dict) else v) for k, v in obj.items()}


def _camel_keys_flat(obj: dict) -> dict:
    return {_camel(k): v for k, v in obj.items()}


def _normalise_setup(setup: Any) -> dict | None:
    """``bidiGenerateContentSetup`` as a camelCase setup body (accepts ``{"setup": {...}}`` too)."""
    if not setup:
        return None
    if not isinstance(setup, dict):
        raise ValueError("bidiGenerateContentSetup must be an object")
    if set(setup) == {"setup"}:
        setup = setup["setup"]
    return _camel_keys(setup)


def _mask(value: Any) -> list[str] | None:
    if value is None or value == "":
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return [".".join(_camel(p) for p in str(i).strip().split(".")) for i in items if str(i).strip()]


class TokenStore:
    """The tokens one emulator has minted.

    Args:
        clock: Wall-clock source in epoch seconds (tests may pass a fake one).
    """

    def __init__(self, clock=time.time):
        self._clock = clock
        self._tokens: dict[str, EphemeralToken] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._tokens

    def issue(
        self,
        *,
        uses: int = 1,
        expire_time: Any = None,
        new_session_expire_time: Any = None,
        setup: dict | None = None,
        field_mask: list[str] | str | None = None,
    ) -> EphemeralToken:
        """Mint a token.

        Args:
            uses: New sessions allowed (0 = unlimited).
            expire_time: RFC 3339 string or epoch seconds; 30 min ahead when None.
            new_session_expire_time: Same form; 60 s ahead when None.
            setup: Setup fields to lock (camelCase or snake_case keys; ``{"setup": {...}}``
                accepted), or None for an unconstrained token.
            field_mask: Lock only these paths (list or comma-separated string); None locks
                every field of ``setup``.

        Raises:
            ValueError: A negative ``uses``, an unreadable time, or a setup that is not an object.
        """
        if uses < 0:
            raise ValueError("uses must be >= 0")
        now = self._clock()
        token = EphemeralToken(
            name=TOKEN_PREFIX + secrets.token_urlsafe(24),
            uses=int(uses),
            expire_at=_epoch(expire_time, now + DEFAULT_EXPIRE_S),
            new_session_expire_at=_epoch(new_session_expire_time, now + DEFAULT_NEW_SESSION_EXPIRE_S),
            setup=_normalise_setup(setup),
            field_mask=_mask(field_mask),
        )
        self._tokens[token.name] = token
        return token

    def issue_from_rest(self, body: dict) -> EphemeralToken:
        """Mint a token from the body of ``POST .../auth_tokens`` (what the SDKs send).

        Raises:
            ValueError: For a body the real endpoint would reject (400).
        """
        if not isinstance(body, dict):
            raise ValueError("the request body must be a JSON object")
        uses = wire.get(body, "uses", 1)
        if not isinstance(uses, int):
            raise ValueError("uses must be an integer")
        return self.issue(
            uses=uses,
            expire_time=wire.get(body, "expireTime"),
            new_session_expire_time=wire.get(body, "newSessionExpireTime"),
            setup=wire.get(body, "bidiGenerateContentSetup"),
            field_mask=wire.get(body, "fieldMask"),
        )

    def admit(self, name: str, *, resuming: bool) -> EphemeralToken:
        """Spend one use of ``name`` for a new connection.

        Args:
            name: The token the client sent.
            resuming: The setup carries a resumption handle (does not count as a use, and is
                allowed after ``newSessionExpireTime``).

        Raises:
            ProtocolError: 1008 for an unknown, expired or used-up token.
        """
        token = self._tokens.get(name)
        now = self._clock()
        refused = (
            token is None
            or now > token.expire_at
            or (not resuming and now > token.new_session_expire_at)
            or (not resuming and token.uses and token.used >= token.uses)
        )
        if refused:
            raise wire.ProtocolError(wire.CLOSE_POLICY, wire.REASON_BAD_KEY)
        if not resuming:
            token.used += 1
        return token


def constrain(client_setup: dict, token: EphemeralToken) -> dict:
    """The setup a session runs with: the client's, with the token's locked fields imposed.

    Args:
        client_setup: The ``setup`` body the client sent (either key spelling).
        token: The token it connected with.

    Returns:
        A new setup body; the client's own dict is left untouched (the record keeps it).
    """
    if token.setup is None:
        return client_setup
    locked = copy.deepcopy(token.setup)
    if token.field_mask is None:
        merged = locked
        # The model and resumption handle are the connection's own even under a full lock.
        for own in ("sessionResumption", "model"):
            value = wire.get(client_setup, own)
            if value is not None and own not in merged:
                merged[own] = value
        return merged
    merged = {_camel(k): copy.deepcopy(v) for k, v in client_setup.items()}
    # A locked path the token leaves unset is locked to the server default: the client's
    # value is dropped.
    for path in token.field_mask:
        top, _, sub = path.partition(".")
        if not sub:
            if top in locked:
                merged[top] = copy.deepcopy(locked[top])
            else:
                merged.pop(top, None)
            continue
        source = locked.get(top)
        inner = source.get(sub) if isinstance(source, dict) else None
        target = merged.get(top)
        target = _camel_keys_flat(target) if isinstance(target, dict) else {}
        if inner is None:
            target.pop(sub, None)
        else:
            target[sub] = copy.deepcopy(inner)
        if target:
            merged[top] = target
        else:
            merged.pop(top, None)
    return merged
