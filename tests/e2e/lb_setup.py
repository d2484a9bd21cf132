"""Getting a load balancer for the scale-out test: Debian's HAProxy, installed with apt when missing.

Like the browser test's Chromium (:mod:`tests.e2e.browser_setup`): installing it is part of the
test setup, so ``make test`` on a fresh CI machine (Debian's registry reachable, running as
root) runs the scale-out test instead of skipping it. ``python -m tests.e2e.lb_setup`` installs
it and prints the path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

APT_TIMEOUT_S = 600


class LoadBalancerUnavailable(RuntimeError):
    """HAProxy is missing and cannot be installed here (the message says why)."""


def ensure_haproxy(log=print) -> str:
    """The path of ``haproxy``, installing Debian's ``haproxy`` package with apt if needed.

    Raises:
        LoadBalancerUnavailable: Not installed, and apt cannot install it here (not root, no
            apt-get, or the install failed; the message carries apt's last lines).
    """
    path = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if path:
        return path
    if shutil.which("apt-get") is None:
        raise LoadBalancerUnavailable("HAProxy is not installed and this system has no apt-get to install it")
    if os.geteuid() != 0:
        raise LoadBalancerUnavailable("HAProxy is not installed; run `apt-get install -y haproxy` as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "haproxy"],
    ):
        log(f"load balancer setup: {' '.join(cmd)}")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=APT_TIMEOUT_S, env=env)
        except subprocess.TimeoutExpired as e:
            raise LoadBalancerUnavailable(f"`{' '.join(cmd)}` took over {APT_TIMEOUT_S}s") from e
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
            raise LoadBalancerUnavailable(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{tail}")
    path = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if not path:
        raise LoadBalancerUnavailable("apt-get installed haproxy but no haproxy executable was found")
    return path


if __name__ == "__main__":
    try:
        print(ensure_haproxy(log=lambda m: print(m, file=sys.stderr)))
    except LoadBalancerUnavailable as e:
        print(f"load balancer setup: {e}", file=sys.stderr)
        sys.exit(1)
