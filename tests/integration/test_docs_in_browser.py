"""``/docs`` works in a real browser with no network (issue #13).

A real ``infra-mind serve`` (SQLite) and headless Chromium, which may resolve no host but
127.0.0.1: Swagger UI must load from the API's own files, start under the page's
Content-Security-Policy (no inline script) and list the API's operations. Before #13 the
page loaded Swagger UI from a CDN and stayed blank offline.

Chromium is Debian's ``chromium`` (or ``chromium-headless-shell``); without it the test
skips, unless INFRA_MIND_REQUIRE_WEB=1 (CI, where .ci/run installs it), which makes it fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.procs import base_env, logs_on_failure, serve

BROWSERS = ("chromium", "chromium-headless-shell")


def chromium() -> str:
    found = os.environ.get("INFRA_MIND_CHROMIUM") or next(
        (path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        message = "no Chromium on PATH (Debian: apt-get install chromium)"
        if os.environ.get("INFRA_MIND_REQUIRE_WEB") == "1":
            pytest.fail(f"{message}; INFRA_MIND_REQUIRE_WEB=1 makes this a failure")
        pytest.skip(message)
    return found


def _wait_until_up(url: str, proc, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.popen.poll() is None, f"serve exited: {proc.tail()}"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve did not answer in {timeout_s} s: {proc.tail()}")


def test_docs_render_offline(tmp_path: Path):
    browser = chromium()
    env = base_env(f"sqlite+aiosqlite:///{tmp_path}/docs.db",
                   WEB_DIST_DIR=str(tmp_path / "no-web-build"))
    proc = serve("api", env, tmp_path)
    with logs_on_failure([proc]):
        try:
            _wait_until_up(proc.url, proc)
            done = subprocess.run(
                [browser, "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                 # no host but this one resolves: a CDN script would not load
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                 "--virtual-time-budget=15000", "--dump-dom", f"{proc.url}/docs"],
                capture_output=True, text=True, timeout=90)
        finally:
            proc.stop()
    dom = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    # Swagger UI ran: the document's title, and operations of each part of the API
    assert 'class="swagger-ui' in dom, dom[:2000]
    assert "Infra Mind" in dom
    for path in ("/api/v1/assessments", "/api/v1/auth/browser/login", "/health"):
        assert f'data-path="{path}"' in dom, path
