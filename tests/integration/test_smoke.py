"""``infra-mind smoke --url URL`` against real ``infra-mind serve`` processes.

- A healthy server (SQLite, tasks in-process): the smoke passes, one line per step, and
  the database holds no assessment afterwards; the account it registered is the one thing
  left, with its sessions revoked, and the smoke says so.
- A server whose runs fail (its checkpoint store is misconfigured, so every run ends
  ``failed``): exit 1 naming the step and the run's error; the assessment is still deleted.
- A URL where nothing listens: exit 1 at the first step.
- Registration throttled to one per address: a second registering smoke is refused with
  the 429 and its Retry-After; a smoke on a standing account (``--email``) still passes
  and registers nothing.

Nothing printed holds a token or a password.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.procs import Proc, base_env, free_port, ok, serve, wait_ready

STEPS = ["ready", "register", "sign in", "create", "run", "wait", "report", "delete",
         "sign out"]
#: A JWT (three base64url parts, the first a JSON header) or an argon2 hash.
SECRET_LOOKING = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+|\$argon2")


def smoke(url: str, *args: str, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    """The real command line, in its own process."""
    environment = {k: v for k, v in os.environ.items() if k != "INFRA_MIND_SMOKE_PASSWORD"}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "infra_mind", "smoke", "--url", url, *args],
                          capture_output=True, text=True, timeout=180, env=environment)


def step_lines(out: str) -> list[tuple[str, str]]:
    """(ok|FAIL, step) of each step line."""
    return re.findall(r"^\s*(ok|FAIL)  (\S+(?: in| out)?)\s+\d+\.\d\d s", out, re.MULTILINE)


def count(database: Path, sql: str) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchone()[0]


def _start(tmp_path: Path, name: str, **extra: str) -> tuple[Proc, Path]:
    database = tmp_path / f"{name}.db"
    env = base_env(f"sqlite+aiosqlite:///{database}", None, **extra)
    proc = serve(name, env, tmp_path)

    async def ready() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            await wait_ready(http, [proc], [proc], timeout_s=60)

    try:
        asyncio.run(ready())
    except BaseException:
        proc.stop()
        raise
    return proc, database


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[Proc, Path]]:
    proc, database = _start(tmp_path, "healthy")
    try:
        yield proc, database
    finally:
        proc.stop()


def test_smoke_passes_and_leaves_no_assessment(server):
    proc, database = server
    done = smoke(proc.url, "--wait", "120")
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{proc.tail()}"
    assert done.stderr == ""
    assert step_lines(done.stdout) == [("ok", step) for step in STEPS], done.stdout
    assert done.stdout.splitlines()[-1].startswith("smoke passed in ")
    assert "executive report" in done.stdout
    assert not SECRET_LOOKING.search(done.stdout)

    assert count(database, "SELECT count(*) FROM assessments") == 0
    assert count(database, "SELECT count(*) FROM assessment_results") == 0
    # what it says it leaves: its account, signed out
    [email] = re.findall(r"account (smoke-[0-9a-f]{12}@example\.com)", done.stdout)[:1]
    assert f"left behind: the account {email}" in done.stdout
    assert count(database, "SELECT count(*) FROM users") == 1
    assert count(database, "SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL "
                           "AND used_at IS NULL") == 0
    assert count(database, "SELECT count(*) FROM audit_events "
                           "WHERE action = 'assessment.deleted'") == 1


def test_smoke_fails_on_a_server_whose_runs_fail(tmp_path):
    # every run fails at its first step: the checkpoint store cannot be opened
    proc, database = _start(tmp_path, "broken", CHECKPOINT_URL="mysql://nowhere/none")
    try:
        done = smoke(proc.url, "--wait", "60")
    finally:
        proc.stop()
    assert done.returncode == 1, done.stdout
    assert step_lines(done.stdout) == [("ok", s) for s in STEPS[:5]] + [("FAIL", "wait")]
    [line] = done.stderr.splitlines()
    assert line.startswith("error: smoke failed at wait: the run ended failed: ")
    assert "CHECKPOINT_URL" in line
    assert not SECRET_LOOKING.search(done.stdout + done.stderr)
    # the failed assessment was not left behind
    assert "clean-up: deleted assessment" in done.stdout
    assert count(database, "SELECT count(*) FROM assessments") == 0


def test_smoke_fails_where_nothing_listens():
    done = smoke(f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert step_lines(done.stdout) == [("FAIL", "ready")]
    [line] = done.stderr.splitlines()
    assert line.startswith("error: smoke failed at ready: cannot reach http://127.0.0.1:")
    assert "Traceback" not in done.stdout + done.stderr


def test_smoke_refuses_a_url_that_is_not_http():
    done = smoke("ftp://example.com")
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: --url must be an http:// or https:// URL with a "
                                   "host, not 'ftp://example.com'")


def test_throttled_registration_fails_and_a_standing_account_still_passes(tmp_path):
    proc, database = _start(tmp_path, "throttled", REGISTER_ATTEMPTS="1")
    try:
        email, password = "standing-smoke@example.com", secrets.token_urlsafe(24)
        ok(httpx.post(f"{proc.url}/api/v1/auth/register", timeout=30, json={
            "email": email, "password": password, "full_name": "Standing smoke account"}), 202)

        refused = smoke(proc.url)
        assert refused.returncode == 1, refused.stdout
        assert step_lines(refused.stdout) == [("ok", "ready"), ("FAIL", "register")]
        [line] = refused.stderr.splitlines()
        assert re.match(r"error: smoke failed at register: registration refused: 429 .*"
                        r"\(retry after \d+ s\).*--email$", line), line

        assert smoke(proc.url, "--email", email).returncode == 2  # no password given
        done = smoke(proc.url, "--email", email, "--wait", "120",
                     env={"INFRA_MIND_SMOKE_PASSWORD": password})
    finally:
        proc.stop()
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert step_lines(done.stdout) == [("ok", s) for s in STEPS if s != "register"]
    assert "left behind" not in done.stdout
    assert password not in done.stdout + done.stderr
    assert count(database, "SELECT count(*) FROM users") == 1  # the standing account only
    assert count(database, "SELECT count(*) FROM assessments") == 0
