"""Emulators on an event loop of their own, in a background thread.

For code that has no running event loop to share: synchronous tests, tests that drive a
client in another process (a Node script, another virtualenv), or a notebook. The client
connects over loopback TCP as it would to Google, so which thread serves it does not matter::

    with EmulatorThread() as thread:
        emu = thread.start(EmulatorConfig(think_ms=50))
        subprocess.run(["node", "bot.mjs"], env={**os.environ, **emu.client_env()})
        thread.call(emu.wait_closed())
        assert emu.close_codes == [1000]

Records are written on the emulator's thread; read them once the client is done, or wait for
them through :meth:`EmulatorThread.call`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..config import EmulatorConfig
from .certs import LocalCA
from .emulator import LiveEmulator

T = TypeVar("T")


class EmulatorThread:
    """A thread running an event loop that hosts any number of :class:`LiveEmulator`.

    Args:
        ca: A CA shared by every emulator started here (one file for a client to trust); a
            fresh one is made and removed with the thread when omitted.
    """

    def __init__(self, ca: LocalCA | None = None):
        self.ca = ca or LocalCA()
        self._own_ca = ca is None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="gemini-live-emulator", daemon=True)
        self._emulators: list[LiveEmulator] = []
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run ``coro`` on the emulators' loop and return its result.

        Raises:
            TimeoutError: When it takes longer than ``timeout`` seconds (it is cancelled).
        """
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def start(self, config: EmulatorConfig | None = None, **fields: Any) -> LiveEmulator:
        """Start an emulator (``config``, or ``EmulatorConfig(**fields)``) and return it."""
        if config is None:
            config = EmulatorConfig(**fields)
        elif fields:
            raise TypeError("pass either a config or its fields, not both")

        async def _start() -> LiveEmulator:
            return await LiveEmulator(config, ca=self.ca).start()

        emu = self.call(_start())
        self._emulators.append(emu)
        return emu

    def stop(self) -> None:
        """Stop every emulator, the loop and the thread."""
        if not self._thread.is_alive():
            return

        async def _stop_all() -> None:
            for emu in self._emulators:
                await emu.stop()

        try:
            self.call(_stop_all(), timeout=15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
            if self._own_ca:
                self.ca.cleanup()

    def __enter__(self) -> "EmulatorThread":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
