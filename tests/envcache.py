"""Client environments the tests build once and keep in the work tree (all in .gitignore).

A directory is rebuilt only when its spec (a version pin, or a hash of the files it was built
from) changes; a stamp file inside it records the spec, and a file lock beside it keeps two
test runs from building it at once.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def _locked(path: Path):
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cached(directory: Path, spec: str, build: Callable[[], None]) -> bool:
    """Run ``build()`` unless ``directory`` was last built for ``spec``; True when it built."""
    stamp = directory / ".built-for"
    with _locked(directory.parent / f"{directory.name}.lock"):
        if stamp.exists() and stamp.read_text() == spec:
            return False
        shutil.rmtree(directory, ignore_errors=True)
        build()
        stamp.write_text(spec)
        return True


def run(cmd: list[str], timeout: float = 900, **kwargs) -> subprocess.CompletedProcess:
    """Run a setup command; fail the test with its output when it fails."""
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kwargs)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}",
                    pytrace=False)
    return proc
