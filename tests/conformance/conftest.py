"""Conformance-suite setup: the client environments, made once and cached in the work tree.

- google-genai 3.x lives in ``.venv-genai3/`` (its own virtualenv: Pipecat pins google-genai < 3).
- ``@google/genai`` is installed with npm into ``.node-genai/`` (skipped where Node is absent).

Each is rebuilt only when its pinned version changes (``tests/envcache.py``). Both
directories are in .gitignore.
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from gemini_live_emulator.threaded import EmulatorThread

from ..envcache import ROOT, cached, run
from .harness import CLIENTS_DIR, ClientRun, run_client, write_audio
GENAI3_SPEC = os.environ.get("CONFORMANCE_GENAI3", "google-genai==3.4.0")
# The newest @google/genai that supports Node 20 (3.x needs Node >= 22).
NPM_GENAI_SPEC = os.environ.get("CONFORMANCE_NPM_GENAI", "@google/genai@2.32.0")


@pytest.fixture(scope="session")
def genai3_python() -> str:
    """The interpreter of a virtualenv holding google-genai 3.x."""
    venv = ROOT / ".venv-genai3"

    def build():
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", GENAI3_SPEC])

    cached(venv, GENAI3_SPEC, build)
    return str(venv / "bin" / "python")


@pytest.fixture(scope="session")
def node_genai_prefix() -> str:
    """An npm prefix holding @google/genai (skips where Node or npm is not installed)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js is not installed: the @google/genai client is not run")
    prefix = ROOT / ".node-genai"

    def build():
        prefix.mkdir(parents=True)
        run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error", NPM_GENAI_SPEC])

    cached(prefix, NPM_GENAI_SPEC, build)
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
