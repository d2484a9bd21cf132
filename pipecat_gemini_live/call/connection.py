"""One Live API connection: open, send, receive loop, close codes, resumption handle.

A :class:`LiveSession` wraps ``client.aio.live.connect`` (the official SDK does the wire) in
one task that owns the connection from open to close, so the connection outlives any single
caller. It reports every server message and, once, how it ended (:class:`SessionEnd`): the
close code and reason as the SDK raised them (``google.genai.errors.APIError``: ``.code`` is
the close code, ``.details`` the reason, even for 1000), and whether we asked for the close.

A normal hang-up closes with 1000: the SDK's context manager would close with 1011 when the
task is cancelled, so :meth:`close` closes the socket first and lets the task finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from google.genai import Client
from google.genai.errors import APIError
from google.genai.live import AsyncSession
from google.genai.types import Blob, Content, LiveConnectConfig, LiveServerMessage
from loguru import logger
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .fast_wire import audio_input_message, fast_receiver, fast_sender


class SessionState(str, Enum):
    """Where a session is in its life."""

    CONNECTING = "connecting"
    READY = "ready"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass
class SessionEnd:
    """How a session ended.

    Attributes:
        code: WebSocket close code (1006 for a drop with no close frame), or None when the
            connection never opened (refused, DNS, TLS, HTTP error, timeout).
        reason: Close reason or error text.
        by_us: We asked for the close (hang-up, switch); not a failure.
        error: The exception that ended it, if any.
    """

    code: int | None
    reason: str
    by_us: bool
    error: BaseException | None = None


class SessionOpenError(Exception):
    """A session could not be opened (no ``setupComplete``).

    Attributes:
        code: Close code when the server closed during setup (1007, 1008, 1011...), else None.
        reason: What went wrong, for the log and the ``ErrorFrame``.
    """

    def __init__(self, code: int | None, reason: str):
        super().__init__(f"{code}: {reason}" if code is not None else reason)
        self.code = code
        self.reason = reason


MessageHandler = Callable[["LiveSession", LiveServerMessage], Awaitable[None]]
EndHandler = Callable[["LiveSession", SessionEnd], Awaitable[None]]
TaskFactory = Callable[..., asyncio.Task]


def describe_error(e: BaseException) -> tuple[int | None, str]:
    """``(close code, reason)`` for an exception from the SDK or websockets."""
    if isinstance(e, APIError):
        return e.code, str(e.details or e.message or e)
    if isinstance(e, ConnectionClosed):
        frame = e.rcvd or e.sent
        return (frame.code, frame.reason) if frame else (1006, "connection dropped")
    if isinstance(e, InvalidStatus):
        return None, f"HTTP {e.response.status_code} from the Live endpoint"
    if isinstance(e, (asyncio.TimeoutError, TimeoutError)):
        return None, "timed out waiting for setupComplete"
    return None, f"{type(e).__name__}: {e}"


class LiveSession:
    """One connection to the Live API.

    Args:
        client: The shared ``genai.Client`` (building one costs tens of ms; one per service).
        model: Model name.
        config: The setup for this session.
        index: Position of this session in the call (0 = first).
        reason: Why it was opened (``start``, ``persona``, ``goaway``, ``reconnect``...).
        on_message: Awaited for every server message, in order, from the session's task.
        on_end: Awaited once when the session ends, whatever the cause.
        create_task: Task factory (the service's ``create_task``, so Pipecat tracks the task).
    """

    def __init__(
        self,
        *,
        client: Client,
        model: str,
        config: LiveConnectConfig,
        index: int,
        reason: str,
        on_message: MessageHandler,
        on_end: EndHandler,
        create_task: TaskFactory,
    ):
        self.client = client
        self.model = model
        self.config = config
        self.index = index
        self.reason = reason
        self._on_message = on_message
        self._on_end = on_end
        self._create_task = create_task
        self.state = SessionState.CONNECTING
        self.handle: str | None = None
        self.resumable = False
        self.realtime_input_sent = False
        self.last_sent_kind: str | None = None  # the last non-audio message (what a 1007 refused)
        self.trying: frozenset[str] = frozenset()  # profile capabilities this session tries
        self.activity_open = False
        self.opened_at: float | None = None
        self.ended_at: float | None = None
        self.end: SessionEnd | None = None
        self.system_instruction: str | None = None
        self.spec: Any = None
        self._sdk: AsyncSession | None = None
        self._send_raw: Callable[[bytes], Awaitable[None]] | None = None
        self._ready: asyncio.Future | None = None
        self._task: asyncio.Task | None = None
        self._closing = False

    def __repr__(self) -> str:
        return f"LiveSession#{self.index}({self.reason}, {self.state.value})"

    @property
    def ready(self) -> bool:
        """Whether the session took ``setupComplete`` and is not closing."""
        return self.state is SessionState.READY

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self, timeout: float) -> None:
        """Connect and wait for ``setupComplete``.

        Args:
            timeout: Seconds to wait for the setup to complete.

        Raises:
            SessionOpenError: The server refused or closed during setup, the connection failed,
                or the timeout passed.
        """
        self._ready = asyncio.get_running_loop().create_future()
        self._task = self._create_task(self._run(), f"live-session-{self.index}")
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            await self.abort()
            raise SessionOpenError(None, f"no setupComplete within {timeout:.1f}s") from None
        except BaseException:
            # Whoever opened it gave up (a hang-up cancelled the switch). The connect goes on in
            # its own task and would complete into a session nobody closes: end it here.
            await asyncio.shield(self.discard())
            raise

    async def discard(self, timeout: float = 2.0) -> None:
        """End the session whatever its state: closed with 1000 if it is up, else aborted."""
        if self.state is SessionState.READY:
            await self.close(timeout)
        else:
            await self.abort()

    async def _run(self) -> None:
        end: SessionEnd | None = None
        try:
            async with self.client.aio.live.connect(model=self.model, config=self.config) as sdk:
                self._sdk = sdk
                self._send_raw = fast_sender(sdk)
                receive = fast_receiver(sdk)
                self.opened_at = time.monotonic()
                self.state = SessionState.READY
                if self._ready and not self._ready.done():
                    self._ready.set_result(None)
                if receive is not None:
                    while True:
                        await self._on_message(self, await receive())
                while True:
                    async for message in sdk.receive():
                        await self._on_message(self, message)
        except asyncio.CancelledError:
            end = SessionEnd(code=None, reason="cancelled", by_us=True)
            raise
        except Exception as e:
            code, reason = describe_error(e)
            end = SessionEnd(code=code, reason=reason, by_us=self._closing, error=e)
        finally:
            self.state = SessionState.CLOSED
            self.ended_at = time.monotonic()
            self._sdk = None
            self._send_raw = None
            self.end = end or SessionEnd(code=None, reason="ended", by_us=self._closing)
            if self._ready and not self._ready.done():
                self._ready.set_exception(SessionOpenError(self.end.code, self.end.reason))
                # Nobody may be waiting any more (open() timed out): keep asyncio quiet.
                self._ready.exception()
            try:
                await asyncio.shield(self._on_end(self, self.end))
            except Exception:
                logger.exception(f"{self}: handling the end of the session failed")

    async def close(self, timeout: float = 2.0) -> None:
        """Close with 1000 (normal closure) and wait for the session task to finish."""
        if self.state is SessionState.CLOSED:
            return
        self._closing = True
        self.state = SessionState.CLOSING
        sdk = self._sdk
        if sdk is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sdk.close(), timeout)
        await self._join(timeout)

    async def abort(self) -> None:
        """Stop at once (no close handshake wait): a session that never became ready."""
        self._closing = True
        self.state = SessionState.CLOSING
        if self._task is not None and not self._task.done():
            self._task.cancel()
            # wait() rather than awaiting the task: a cancellation aimed at our caller (a hang-up
            # stopping the watchdog that aborts) must reach it, not be swallowed here.
            await asyncio.wait({self._task})

    async def wait_closed(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the connection to end; returns whether it has."""
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task}, timeout=timeout)
        return self.state is SessionState.CLOSED or self._task is None or self._task.done()

    async def _join(self, timeout: float) -> None:
        if self._task is None or self._task.done():
            return
        done, _ = await asyncio.wait({self._task}, timeout=timeout)
        if not done:
            logger.warning(f"{self}: close handshake took over {timeout}s; cancelling")
            await self.abort()

    # -- sending -----------------------------------------------------------------------------

    def _live(self) -> AsyncSession:
        sdk = self._sdk
        if sdk is None or self.state is not SessionState.READY:
            raise ConnectionError(f"{self} is not ready")
        return sdk

    async def send_audio(self, audio: bytes, sample_rate: int) -> None:
        """``realtimeInput.audio``: PCM16 LE mono at ``sample_rate`` Hz."""
        sdk = self._live()
        self.realtime_input_sent = True
        if self._send_raw is not None:  # the SDK's JSON, without its per-message conversion
            await self._send_raw(audio_input_message(audio, f"audio/pcm;rate={sample_rate}"))
            return
        await sdk.send_realtime_input(audio=Blob(data=audio, mime_type=f"audio/pcm;rate={sample_rate}"))

    async def send_audio_stream_end(self) -> None:
        """``realtimeInput.audioStreamEnd``: the caller's audio stopped arriving."""
        sdk = self._live()
        self.last_sent_kind = "audio_stream_end"
        await sdk.send_realtime_input(audio_stream_end=True)

    async def send_text(self, text: str) -> None:
        """``realtimeInput.text``."""
        sdk = self._live()
        self.realtime_input_sent = True
        self.last_sent_kind = "realtime_text"
        await sdk.send_realtime_input(text=text)

    async def send_video(self, jpeg: bytes, mime_type: str = "image/jpeg") -> None:
        """``realtimeInput.video``: one encoded image."""
        sdk = self._live()
        self.realtime_input_sent = True
        self.last_sent_kind = "video"
        await sdk.send_realtime_input(video=Blob(data=jpeg, mime_type=mime_type))

    async def send_activity(self, start: bool) -> None:
        """``realtimeInput.activityStart`` / ``activityEnd`` (manual turn detection)."""
        sdk = self._live()
        self.realtime_input_sent = True
        self.last_sent_kind = "activity"
        if start:
            await sdk.send_realtime_input(activity_start={})
        else:
            await sdk.send_realtime_input(activity_end={})
        self.activity_open = start

    async def send_client_content(self, turns: list[Content], turn_complete: bool) -> None:
        """``clientContent``: append turns to the history, optionally completing the turn."""
        sdk = self._live()
        self.last_sent_kind = "client_content"
        await sdk.send_client_content(turns=turns, turn_complete=turn_complete)

    async def send_tool_response(self, responses: list[Any]) -> None:
        """``toolResponse`` with ``FunctionResponse`` entries."""
        sdk = self._live()
        scheduled = any(getattr(r, "scheduling", None) is not None for r in responses)
        self.last_sent_kind = "tool_scheduling" if scheduled else "tool_response"
        await sdk.send_tool_response(function_responses=responses)

    async def send_context_update(self, *, system_instruction: str | None = None, tools: list | None = None) -> None:
        """``contextUpdate``: replace the system instruction and/or tools in-session."""
        sdk = self._live()
        self.last_sent_kind = "context_update"
        await sdk.send_context_update(system_instruction=system_instruction, tools=tools)
