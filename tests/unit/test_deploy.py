"""deploy/: the Dockerfile and the HAProxy config refer to what the repository has.

Docker cannot build on the test machines (no daemon), so the image is checked by what it is
made of: the paths it copies exist, it runs as a non-root user, its health check asks the
endpoint the bot serves, and its command starts the bot off loopback only with the settings
the bot requires there. The HAProxy config is exercised for real by tests/e2e/test_scale_out.py.
"""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

from pipelines.twilio_bot import TwilioBotConfig, create_app

from ..conftest import ROOT

DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def test_the_image_copies_what_exists_and_runs_as_a_user():
    for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.MULTILINE):
        for src in line.split()[:-1]:
            assert (ROOT / src).exists(), src
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    cmd = re.search(r'^CMD \["python", "([^"]+)"', DOCKERFILE, re.MULTILINE).group(1)
    assert (ROOT / cmd).is_file()


async def test_the_health_check_asks_an_endpoint_the_bot_serves():
    assert "/healthz" in re.search(r"^HEALTHCHECK .*(?:\n .*)*", DOCKERFILE, re.MULTILINE).group(0)
    app = create_app(TwilioBotConfig())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http:
        r = await http.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_the_bot_will_not_listen_off_loopback_unprotected():
    # The image's command (--host 0.0.0.0) without TWILIO_AUTH_TOKEN: refused before binding.
    proc = subprocess.run(
        [sys.executable, "pipelines/twilio_bot.py", "--host", "0.0.0.0", "--port", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2 and "needs TWILIO_AUTH_TOKEN" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "pipelines/twilio_bot.py", "--host", "0.0.0.0", "--port", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "TWILIO_AUTH_TOKEN": "x"},
    )
    assert proc.returncode == 2 and "PUBLIC_URL is required" in proc.stderr
