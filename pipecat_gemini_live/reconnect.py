"""Which session ends are worth retrying, and how long to wait between attempts.

Close codes as users see them (DESIGN.md section 4):

- 1000 from the server at the connection lifetime (about 10 min), 1001, 1006 (no close frame:
  a network drop), 1011 ("Internal error", "Deadline expired", quota), 1012-1014 and network
  errors: retried with exponential backoff and jitter, up to a cap.
- 1007 (a request the model rejects) and 1008 (wrong model or API, bad key): never retried; the
  pipeline gets a fatal ``ErrorFrame`` that says what was rejected and the likely cause.

The waiting itself is ``tenacity``'s (already a dependency of google-genai).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field
from tenacity import wait_exponential_jitter
from websockets.exceptions import InvalidStatus

FATAL_CODES = {1002, 1003, 1007, 1008, 1009, 1010}


class RetryPolicy(BaseModel):
    """Backoff for reconnecting and for the first connect.

    Attributes:
        max_attempts: Attempts per outage before giving up (the first one included).
        initial_delay_s: Wait before the second attempt (the first is immediate).
        max_delay_s: Cap on one wait.
        jitter_s: Random extra added to each wait, up to this many seconds.
    """

    max_attempts: int = Field(default=6, ge=1)
    initial_delay_s: float = Field(default=0.1, ge=0)
    max_delay_s: float = Field(default=5.0, ge=0)
    jitter_s: float = Field(default=0.1, ge=0)

    def delays(self):
        """Seconds to wait before attempts 2, 3, ... (exponential, capped, jittered)."""
        wait = wait_exponential_jitter(
            initial=self.initial_delay_s, max=self.max_delay_s, jitter=self.jitter_s
        )

        class _State:  # tenacity's wait strategies only read attempt_number
            def __init__(self, n):
                self.attempt_number = n

        for n in range(1, self.max_attempts):
            yield wait(_State(n))


@dataclass(frozen=True)
class Verdict:
    """Whether an end is retryable, and what to tell the pipeline when it is not."""

    retry: bool
    explanation: str


def classify(code: int | None, reason: str, error: BaseException | None = None) -> Verdict:
    """Decide what a session end or failed connect means.

    Args:
        code: WebSocket close code, or None when no connection was made.
        reason: Close reason or error text.
        error: The exception, when there is one (HTTP status errors are judged by status).
    """
    if isinstance(error, InvalidStatus):
        status = error.response.status_code
        if status in (401, 403, 404):
            return Verdict(False, f"the Live endpoint answered HTTP {status}: check the API key and base URL")
        return Verdict(True, f"HTTP {status}")
    if code is None:
        return Verdict(True, reason or "connection failed")
    if code == 1007:
        return Verdict(
            False,
            f"the model rejected a request (1007 {reason!r}): a field or message this model "
            "does not accept (for example clientContent after the conversation started on "
            "3.1, function parts in clientContent, or an unsupported setup field)",
        )
    if code == 1008:
        return Verdict(
            False,
            f"the service refused the session (1008 {reason!r}): wrong model name or API "
            "version, a model without Live support, or an invalid API key",
        )
    if code in FATAL_CODES:
        return Verdict(False, f"protocol error {code} ({reason!r})")
    return Verdict(True, f"{code} {reason}".strip())
