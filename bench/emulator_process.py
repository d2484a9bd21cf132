"""The Live API emulator in a process of its own, for measurements of a bot's CPU and memory.

In-process, the emulator's VAD, speech synthesis and TLS would be charged to whichever service
is being measured; in its own process they are not, and its own CPU can be read from
``/proc`` to tell when it, rather than the service, is the bottleneck.

    with EmulatorProcess(think_ms=200, silence_ms=500) as emu:
        service = make_service("ours", emu.endpoint, ...)
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Endpoint:
    """Where a Live API client connects: an emulator's address, CA and key.

    Attributes:
        base_url: ``https://127.0.0.1:PORT``.
        ca_file: PEM file of the CA the client must trust.
        api_key: The key the emulator expects.
    """

    base_url: str
    ca_file: str
    api_key: str
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def http_options(self):
        """``google.genai.types.HttpOptions`` for this endpoint (one SSL context, shared).

        Every service built in a process gets the same object, as a deployment would share
        one context: building one costs milliseconds and would be charged to every call.
        """
        if "http_options" not in self._cache:
            from google.genai import types

            ctx = ssl.create_default_context(cafile=self.ca_file)
            self._cache["http_options"] = types.HttpOptions(
                base_url=self.base_url, async_client_args={"ssl": ctx}
            )
        return self._cache["http_options"]

    def to_json(self) -> str:
        """The endpoint as one JSON object (for a worker process's command line)."""
        return json.dumps(
            {"base_url": self.base_url, "ca_file": self.ca_file, "api_key": self.api_key}
        )

    @classmethod
    def from_json(cls, text: str) -> Endpoint:
        """Inverse of :meth:`to_json`."""
        d = json.loads(text)
        return cls(d["base_url"], d["ca_file"], d["api_key"])


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


class EmulatorProcess:
    """``python -m gemini_live_emulator`` as a child process.

    Args:
        think_ms: Delay before a reply starts, ms.
        silence_ms: End-of-speech silence of the emulator's VAD, ms.
        pace: Reply sending speed, times real time.
        extra_args: More command-line options (``--lifetime-s``, ``--fault``...).
        start_timeout_s: Longest wait for the emulator's address line, seconds.
    """

    def __init__(
        self,
        *,
        think_ms: int = 200,
        silence_ms: int = 500,
        pace: float = 1.0,
        extra_args: list[str] | None = None,
        start_timeout_s: float = 30.0,
    ):
        self.args = [
            sys.executable,
            "-m",
            "gemini_live_emulator",
            "--port",
            "0",
            "--think-ms",
            str(think_ms),
            "--silence-ms",
            str(silence_ms),
            "--pace",
            str(pace),
            *(extra_args or []),
        ]
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.endpoint: Endpoint | None = None

    def start(self) -> EmulatorProcess:
        """Start the process and wait for its address line.

        Raises:
            RuntimeError: The process exited or printed no address in time.
        """
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=env,
        )
        deadline = time.monotonic() + self.start_timeout_s
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("{"):
                d = json.loads(line)
                self.endpoint = Endpoint(d["base_url"], d["ca_file"], d["api_key"])
                return self
        self.stop()
        raise RuntimeError(f"the emulator process did not start: {' '.join(self.args)}")

    @cached_property
    def pid(self) -> int:
        """The emulator's process id."""
        assert self.proc is not None
        return self.proc.pid

    def cpu_s(self) -> float:
        """CPU seconds the emulator has used so far."""
        return process_cpu_s(self.pid)

    def stop(self) -> None:
        """Stop the emulator (SIGTERM, then SIGKILL after 5 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
