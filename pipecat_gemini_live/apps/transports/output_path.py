"""Checking that a call's output files can be written, before the call is placed."""

from __future__ import annotations

from pathlib import Path


class WavOutputError(ValueError):
    """An output path the call could not write to; the message says which and why."""


def check_writable(path: str | Path, what: str = "output") -> Path:
    """Make sure a file can be written at ``path`` before a call starts (creating its folder).

    The file is created empty if it did not exist (the call overwrites it).

    Args:
        path: Where the file will go.
        what: What the file is, for the message ("output", "report").

    Raises:
        WavOutputError: ``path`` is a folder, its parent is a file, or the file cannot be
            created or opened for writing (permissions, read-only or virtual file system).
    """
    p = Path(path)
    if p.is_dir():
        raise WavOutputError(f"{what} {p}: is a directory")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "ab"):
            pass
    except OSError as e:
        raise WavOutputError(f"{what} {p}: cannot be written ({e.strerror or e})") from None
    return p
