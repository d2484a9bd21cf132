"""A bot under fuzz: its app served by uvicorn on loopback in a thread of its own, and the
invariants checked after a run (no unhandled exception logged, no task / descriptor leak, RSS
bounded, the next good call answered).

The server has its own event loop in its own thread so hypothesis can drive it from plain
synchronous tests, with synchronous HTTP and WebSocket clients.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Coroutine
from typing import Any

import uvicorn
from loguru import logger


def rss_mb() -> float:
    """This process's resident memory, MiB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def open_fds() -> int:
    """File descriptors open in this process (sockets included)."""
    return len(os.listdir("/proc/self/fd"))


class ThreadedServer:
    """``app`` under uvicorn on 127.0.0.1, in a daemon thread, until :meth:`stop`.

    Args:
        app: The ASGI app.
        port: The port (0: a free one).
        **options: More ``uvicorn.Config`` settings.
    """

    def __init__(self, app, *, port: int = 0, **options):
        self.app = app
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **options)
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="fuzzed-server", daemon=True)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._server.serve())
        self.loop.close()

    def start(self, timeout_s: float = 20.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fuzzed server did not start")
            time.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(30)

    def call(self, coro: Coroutine, timeout_s: float = 10.0) -> Any:
        """Run ``coro`` on the server's loop and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def tasks(self) -> int:
        """Tasks alive on the server's loop (uvicorn's own included)."""

        async def count() -> int:
            return len(asyncio.all_tasks())

        return self.call(count())

    def settle(self, predicate, timeout_s: float = 20.0, what: str = "the server to settle") -> None:
        """Wait until ``predicate()`` holds (polled from this thread)."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)


# What an exception nobody handled leaves in the logs: a traceback, Pipecat's transport receive
# loop catching one, asyncio finding one in a dead task.
UNHANDLED = ("Traceback", "exception receiving data", "Task exception was never retrieved", "Exception in ASGI")


class CapturedLogs:
    """Every loguru line (with its traceback, if any) and uvicorn's warnings and errors."""

    def __init__(self):
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []
        self._lock = threading.Lock()

    def __enter__(self) -> CapturedLogs:
        def sink(message) -> None:
            with self._lock:
                self.lines.append(str(message))

        self._sink = logger.add(sink, level="DEBUG", enqueue=False)
        self._handler = logging.Handler(logging.WARNING)
        self._handler.emit = self.records.append
        logging.getLogger("uvicorn").addHandler(self._handler)
        return self

    def __exit__(self, *exc) -> None:
        logger.remove(self._sink)
        logging.getLogger("uvicorn").removeHandler(self._handler)

    def unhandled(self) -> list[str]:
        """Lines and records that show an exception nobody handled."""
        with self._lock:
            bad = [line for line in self.lines if any(sign in line for sign in UNHANDLED)]
        bad += [r.getMessage() for r in self.records if r.levelno >= logging.ERROR or r.exc_info]
        return bad


class Baseline:
    """Tasks, descriptors and RSS of a served app before a fuzz run, checked after it.

    Args:
        server: The running server.
        max_growth_mb: RSS allowed to grow over the run, MiB.
        fd_slack: Descriptors allowed on top of the baseline (the Live emulator's pooled
            connections, say).
    """

    def __init__(self, server: ThreadedServer, *, max_growth_mb: float = 150.0, fd_slack: int = 12):
        self.server = server
        self.max_growth_mb = max_growth_mb
        self.fd_slack = fd_slack
        self.tasks = server.tasks()
        self.fds = open_fds()
        self.rss = rss_mb()

    def check(self, idle) -> dict:
        """Wait for ``idle()`` and the task count to come back, then check descriptors and RSS.

        Returns:
            What was measured (for the test's message).
        """
        self.server.settle(idle, what="every fuzzed call to end")
        self.server.settle(lambda: self.server.tasks() <= self.tasks, what="the tasks to come back to the baseline")
        self.server.settle(lambda: open_fds() <= self.fds + self.fd_slack, what="descriptors to be closed")
        growth = rss_mb() - self.rss
        assert growth < self.max_growth_mb, f"RSS grew {growth:.0f} MiB over the run"
        return {"rss_growth_mb": round(growth, 1), "tasks": self.server.tasks(), "fds": open_fds() - self.fds}
