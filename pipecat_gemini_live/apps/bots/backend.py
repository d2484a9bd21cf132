"""Which Live API a bot talks to: Google's, or the embedded emulator when there is no key.

The same rule as the main job (:mod:`pipecat_gemini_live.apps.wav_call`): a bot uses Gemini when
``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``) is set, and otherwise starts the local emulator in
its own process, so every bot runs offline out of the box.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from loguru import logger

from gemini_live_emulator import EmulatorConfig, LiveEmulator
from ..wav_call import api_key_from_env


class LiveBackend:
    """The Live API endpoint for a bot's services: Gemini or an embedded emulator.

    Use as an async context manager (or call :meth:`start` / :meth:`stop`); one backend serves
    any number of calls. The API key is kept out of ``repr`` and logs.

    Args:
        api_key: A Google AI API key. None or empty: the embedded emulator.
        force_emulator: Use the emulator even when a key is given.
        emulator_config: Settings for the embedded emulator (think time, pacing...).

    Example::

        async with LiveBackend(api_key_from_env()) as backend:
            llm = GeminiLiveLLMService(**backend.service_kwargs(), model=...)
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        force_emulator: bool = False,
        emulator_config: EmulatorConfig | None = None,
    ):
        self._api_key = api_key or None
        self._force_emulator = force_emulator
        self._emulator_config = emulator_config
        self.emulator: LiveEmulator | None = None

    @classmethod
    def from_env(cls, *, force_emulator: bool = False, think_ms: int = 200) -> "LiveBackend":
        """A backend from ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY`` (the emulator when unset).

        Args:
            force_emulator: Use the emulator even when a key is set.
            think_ms: The emulator's delay before each reply, ms.
        """
        return cls(api_key_from_env(), force_emulator=force_emulator, emulator_config=EmulatorConfig(think_ms=think_ms))

    @property
    def name(self) -> str:
        """``"gemini"`` or ``"emulator"``."""
        return "gemini" if self._api_key and not self._force_emulator else "emulator"

    async def start(self) -> "LiveBackend":
        """Start the embedded emulator when this backend is one (a no-op for Gemini)."""
        if self.name == "emulator" and self.emulator is None:
            self.emulator = await LiveEmulator(self._emulator_config or EmulatorConfig()).start()
            logger.info(f"{self}: embedded Live API emulator at {self.emulator.base_url}")
        return self

    async def stop(self) -> None:
        """Stop the embedded emulator, if one was started."""
        emulator, self.emulator = self.emulator, None
        if emulator is not None:
            await emulator.stop()

    async def __aenter__(self) -> "LiveBackend":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def service_kwargs(self) -> dict[str, Any]:
        """``api_key`` and ``http_options`` for ``GeminiLiveLLMService``.

        Raises:
            RuntimeError: An emulator backend that was not started.
        """
        if self.name == "gemini":
            return {"api_key": self._api_key, "http_options": None}
        if self.emulator is None:
            raise RuntimeError(f"{self} is not started: use `async with` or await start() first")
        return {"api_key": self.emulator.api_key, "http_options": self.emulator.http_options()}

    def __repr__(self) -> str:
        return f"LiveBackend({self.name})"


class SharedBackend:
    """One :class:`LiveBackend` for every call of a process, started by the first call.

    The runner entries (``bot(runner_args)``) have no app lifespan to start a backend in, so the
    first call does it. Concurrent first calls must not start two embedded emulators (the
    second would leak, never stopped): the start runs under an ``asyncio.Lock``, and calls that
    arrive meanwhile wait for it and share it.

    Args:
        factory: Makes the (unstarted) backend; called once per start.
    """

    def __init__(self, factory: Callable[[], LiveBackend] = LiveBackend.from_env):
        self._factory = factory
        self._backend: LiveBackend | None = None
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _lock_here(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to the loop it first waited on; a process that runs a new
        # loop (tests, a restarted runner) gets a new one.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    @property
    def started(self) -> bool:
        """A backend is running."""
        return self._backend is not None

    async def get(self) -> LiveBackend:
        """The running backend, started now if this is the first call.

        Raises:
            Whatever :meth:`LiveBackend.start` raises; the next call tries again.
        """
        if self._backend is None:
            async with self._lock_here():
                if self._backend is None:
                    self._backend = await self._factory().start()
        return self._backend

    async def stop(self) -> None:
        """Stop the backend (at shutdown, or between tests); the next :meth:`get` starts anew."""
        async with self._lock_here():
            backend, self._backend = self._backend, None
            if backend is not None:
                await backend.stop()
