"""A throwaway PostgreSQL server for the memory store's test: Debian's ``postgresql``, installed
with apt when missing (as the browser and scale-out tests get theirs), run as the ``postgres``
user on a loopback port with its data in a temporary directory.

``python -m tests.e2e.pg_setup`` installs it and prints the server's ``bin`` directory.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

APT_TIMEOUT_S = 600


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is missing or cannot be started here (the message says why)."""


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def ensure_postgres(log=print) -> Path:
    """The server's ``bin`` directory, installing Debian's ``postgresql`` with apt if needed.

    Raises:
        PostgresUnavailable: Not installed and apt cannot install it (not root, no apt-get, or
            the install failed; the message carries apt's last lines).
    """
    if (found := _bin_dir()) is not None:
        return found
    if shutil.which("apt-get") is None:
        raise PostgresUnavailable("PostgreSQL is not installed and this system has no apt-get to install it")
    if os.geteuid() != 0:
        raise PostgresUnavailable("PostgreSQL is not installed; run `apt-get install -y postgresql` as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
    ):
        log(f"postgres setup: {' '.join(cmd)}")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=APT_TIMEOUT_S, env=env)
        except subprocess.TimeoutExpired as e:
            raise PostgresUnavailable(f"`{' '.join(cmd)}` took over {APT_TIMEOUT_S}s") from e
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
            raise PostgresUnavailable(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{tail}")
    if (found := _bin_dir()) is None:
        raise PostgresUnavailable("apt-get installed postgresql but no initdb was found")
    return found


@contextmanager
def postgres_server(log=print):
    """A running server for the block; yields its SQLAlchemy URL (``postgresql+psycopg://...``).

    Raises:
        PostgresUnavailable: It cannot be installed or started (root needs a ``postgres`` user
            to run it as).
    """
    bin_dir = ensure_postgres(log)
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root without runuser to start PostgreSQL as another user")
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no postgres user to run the server") from None
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(tempfile.mkdtemp(prefix="memory-pg-"))
    data = root / "data"
    if as_user:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    run = lambda *cmd: subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)  # noqa: E731
    try:
        init = run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
        if init.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()[-300:]}")
        options = f"-h 127.0.0.1 -p {port} -k {root}"
        start = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start")
        if start.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl start failed: {(start.stdout + start.stderr).strip()[-300:]}")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    try:
        print(ensure_postgres(log=lambda m: print(m, file=sys.stderr)))
    except PostgresUnavailable as e:
        print(f"postgres setup: {e}", file=sys.stderr)
