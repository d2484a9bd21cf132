"""Getting a browser for the end-to-end tests: Debian's Chromium, installed with apt when missing.

Playwright's own browser downloads do not work on our machines (no route to its CDN), so the
tests drive the distribution's Chromium through Playwright's ``executable_path``. Installing it
is part of the test setup, so that ``make test`` on a fresh CI machine (Debian registry
reachable, running as root) runs the browser test instead of skipping it.

Run as a script (``python -m tests.e2e.browser_setup``) it installs and prints the path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
APT_TIMEOUT_S = 900

# The flags that work on these machines: as root Chromium needs --no-sandbox, and without the
# background-networking flags it keeps dialling Google hosts the closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


class BrowserUnavailable(RuntimeError):
    """Chromium is missing and cannot be installed here (the message says why)."""


def find_chromium() -> str | None:
    """The path of an installed Chromium, or None."""
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


def ensure_chromium(log=print) -> str:
    """The path of Chromium, installing Debian's ``chromium`` package with apt if needed.

    Args:
        log: Where progress lines go.

    Returns:
        The executable's path.

    Raises:
        BrowserUnavailable: Not installed, and apt cannot install it here (not root, no
            apt-get, or the install failed; the message carries apt's last output lines).
    """
    path = find_chromium()
    if path:
        return path
    if shutil.which("apt-get") is None:
        raise BrowserUnavailable("Chromium is not installed and this system has no apt-get to install it")
    if os.geteuid() != 0:
        raise BrowserUnavailable("Chromium is not installed; run `apt-get install -y chromium` as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
    ):
        log(f"browser setup: {' '.join(cmd)}")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=APT_TIMEOUT_S, env=env)
        except subprocess.TimeoutExpired as e:
            raise BrowserUnavailable(f"`{' '.join(cmd)}` took over {APT_TIMEOUT_S}s") from e
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
            raise BrowserUnavailable(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{tail}")
    path = find_chromium()
    if not path:
        raise BrowserUnavailable("apt installed chromium but no chromium executable was found")
    return path


if __name__ == "__main__":
    try:
        print(ensure_chromium(log=lambda line: print(line, file=sys.stderr)))
    except BrowserUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
