"""Caller keys: who a caller is, to the memory store, without saying who they are.

- A phone caller (Twilio): ``tel:`` + HMAC-SHA256(secret, the E.164 number), hex. The number
  itself is never stored or logged; without the secret the key cannot be turned back into it.
- A browser: a signed cookie (:class:`CookieSigner`) holding a random id and its issue time,
  ``web:`` + that id; refused once older than its max age.
- A room participant (Daily): ``participant:`` + HMAC of the id the application gives (the
  application's own user id, stable across calls).

The secret comes from ``CALLER_KEY_SECRET``, else from a random one kept in the data directory
(``caller-key.secret``, mode 0600), so keys stay the same across restarts of one deployment.
Several instances must share one secret (set the variable).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

from .store import data_dir

SECRET_FILE = "caller-key.secret"
COOKIE_NAME = "gl_caller"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_ISSUED = re.compile(r"[0-9]{1,12}")
DEFAULT_COOKIE_MAX_AGE_S = 30 * 86400.0
COOKIE_CLOCK_SKEW_S = 300  # instances' clocks differ a little; a cookie from the future does not


def caller_secret(env: dict[str, str] | None = None) -> bytes:
    """The deployment's caller-key secret (see the module docstring).

    Raises:
        OSError: The data directory cannot be written (set ``CALLER_KEY_SECRET``).
    """
    env = os.environ if env is None else env
    if env.get("CALLER_KEY_SECRET"):
        return hashlib.sha256(b"caller-key-secret:" + env["CALLER_KEY_SECRET"].encode()).digest()
    path = data_dir(env) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written whole under another name, then linked into place: a worker starting at the
        # same moment sees either no file or the whole secret, never an empty one.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".caller-key-")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            try:
                os.link(tmp, path)
            except FileExistsError:  # another worker published first: its secret is the one
                pass
        finally:
            os.unlink(tmp)
    secret = bytes.fromhex(Path(path).read_text().strip())
    if len(secret) < 32:
        raise OSError(f"{path} holds no 32-byte secret; delete it or set CALLER_KEY_SECRET")
    return secret


def _mac(secret: bytes, label: str, value: str) -> str:
    return hmac.new(secret, f"{label}\n{value}".encode(), hashlib.sha256).hexdigest()


def phone_caller_key(number: str, secret: bytes) -> str | None:
    """The key of an E.164 phone number (``"+15550001111"``; spaces, dashes, dots and
    parentheses are ignored).

    Returns None for what is not an E.164 number: a withheld ``anonymous`` caller, a SIP URI,
    and a number without its leading ``+`` (``15550001111`` could be a national number, and
    guessing a country would name another caller); such calls are not remembered. Twilio's
    ``From`` is E.164, so the bot and the CLI key a number the same way.
    """
    digits = re.sub(r"[\s().-]", "", number or "")
    if not _E164.fullmatch(digits):
        return None
    return "tel:" + _mac(secret, "tel", digits)


def participant_caller_key(participant_id: str, secret: bytes) -> str:
    """The key of a participant id the application vouches for (its own user id).

    Raises:
        ValueError: An empty id or one over 256 characters.
    """
    if not participant_id or len(participant_id) > 256:
        raise ValueError("a participant id is a non-empty string of at most 256 characters")
    return "participant:" + _mac(secret, "participant", participant_id)


class CookieSigner:
    """Signed browser cookies that carry a random caller id and when it was issued.

    A cookie is ``ID.ISSUED.SIGNATURE``: ``ID`` 32 URL-safe characters, ``ISSUED`` the Unix
    time it was made (decimal seconds), ``SIGNATURE`` the URL-safe base64 of
    HMAC-SHA256(secret, ID and ISSUED) truncated to 16 bytes. A forged or altered cookie, one
    issued more than ``max_age_s`` ago (the browser's own expiry is the browser's to honour,
    so the server checks too), or one issued in the future is not accepted: the browser then
    gets a new id, a stranger, never someone else's memory.

    Args:
        secret: The deployment's caller-key secret.
        max_age_s: Oldest cookie accepted, seconds.
        clock: Unix time now (tests).
    """

    def __init__(self, secret: bytes, *, max_age_s: float = DEFAULT_COOKIE_MAX_AGE_S, clock=time.time):
        if not max_age_s > 0:
            raise ValueError(f"a cookie max age is a positive number of seconds, not {max_age_s!r}")
        self._secret = secret
        self.max_age_s = max_age_s
        self._clock = clock

    def _sign(self, ident: str, issued: str) -> str:
        mac = hmac.new(self._secret, f"cookie\n{ident}\n{issued}".encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def new(self) -> str:
        """A fresh cookie value, issued now."""
        ident, issued = secrets.token_urlsafe(24), str(int(self._clock()))
        return f"{ident}.{issued}.{self._sign(ident, issued)}"

    def caller_key(self, cookie: str | None) -> str | None:
        """The caller key of a cookie this signer issued no more than ``max_age_s`` ago, else None."""
        if not cookie or len(cookie) > 128 or cookie.count(".") != 2:
            return None
        ident, issued, sig = cookie.split(".")
        if not _ID.fullmatch(ident) or not _ISSUED.fullmatch(issued):
            return None
        if not hmac.compare_digest(sig.encode(), self._sign(ident, issued).encode()):
            return None
        age = self._clock() - int(issued)
        if not -COOKIE_CLOCK_SKEW_S <= age <= self.max_age_s:
            return None
        return "web:" + ident
