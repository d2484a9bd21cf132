"""Conformance-suite setup: the client environments, made once and cached in the work tree.

- google-genai 3.x lives in ``.venv-genai3/`` (its own virtualenv: Pipecat pins google-genai < 3).
- ``@google/genai`` is installed with npm into ``.node-genai/`` (skipped where Node is absent).

Each is rebuilt only when its pinned version changes (a stamp file records it), under a file
lock so parallel runs do not build it twice. Both directories are in .gitignore.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipecat_gemini_live.emulator.threaded import EmulatorThread

from .harness import CLIENTS_DIR, ClientRun, run_client, write_audio

ROOT = Path(__file__).resolve().parents[2]
GENAI3_SPEC = os.environ.get("CONFORMANCE_GENAI3", "google-genai==3.4.0")
# The newest @google/genai that supports Node 20 (3.x needs Node >= 22).
NPM_GENAI_SPEC = os.environ.get("CONFORMANCE_NPM_GENAI", "@google/genai@2.32.0")


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _cached(directory: Path, spec: str, build) -> None:
    """Run ``build()`` unless ``directory`` was last built for ``spec``."""
    stamp = directory / ".conformance-stamp"
    with _locked(ROOT / f"{directory.name}.lock"):
        if stamp.exists() and stamp.read_text() == spec:
            return
        shutil.rmtree(directory, ignore_errors=True)
        build()
        stamp.write_text(spec)


def _run(cmd: list[str], **kw) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}", pytrace=False)


@pytest.fixture(scope="session")
def genai3_python() -> str:
    """The interpreter of a virtualenv holding google-genai 3.x."""
    venv = ROOT / ".venv-genai3"

    def build():
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", GENAI3_SPEC])

    _cached(venv, GENAI3_SPEC, build)
    return str(venv / "bin" / "python")


@pytest.fixture(scope="session")
def node_genai_prefix() -> str:
    """An npm prefix holding @google/genai (skips where Node or npm is not installed)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js is not installed: the @google/genai client is not run")
    prefix = ROOT / ".node-genai"

    def build():
        prefix.mkdir(parents=True)
        _run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error", NPM_GENAI_SPEC])

    _cached(prefix, NPM_GENAI_SPEC, build)
    return str(prefix)


@pytest.fixture(scope="session")
def emulator_thread():
    """One thread and one CA for every emulator of the suite."""
    with EmulatorThread() as thread:
        yield thread


@pytest.fixture(scope="session")
def conformance_audio(tmp_path_factory) -> dict[str, str]:
    return write_audio(tmp_path_factory.mktemp("conformance-audio"))


class ClientRuns:
    """Each protocol client's run of every scenario, made on first use and kept for the session."""

    def __init__(self, request, thread, audio):
        self._request = request
        self._thread = thread
        self._audio = audio
        self._runs: dict[str, ClientRun] = {}

    def get(self, client: str) -> ClientRun:
        if client not in self._runs:
            script = {"raw": "raw_client.py", "node": "node_client.mjs"}.get(client, "genai_client.py")
            path = str(CLIENTS_DIR / script)
            env = None
            if client == "genai2":
                command = [sys.executable, path]
            elif client == "genai3":
                command = [self._request.getfixturevalue("genai3_python"), path]
            elif client == "raw":
                command = [sys.executable, path]
            elif client == "node":
                prefix = self._request.getfixturevalue("node_genai_prefix")
                command, env = ["node", path], {"GENAI_NODE_PREFIX": prefix}
            else:
                raise ValueError(client)
            self._runs[client] = run_client(command, self._thread, self._audio, env=env)
        return self._runs[client]


@pytest.fixture(scope="session")
def client_runs(request, emulator_thread, conformance_audio) -> ClientRuns:
    return ClientRuns(request, emulator_thread, conformance_audio)
