"""``infra-mind serve`` starts with what serving an idle API needs, and loads the rest on
first use.

Issue #14: one API process idled at 163-207 MiB, about 60 MiB of it stacks no request of
an idle API touches: LangGraph with LangChain (the agents' graph and runtime), numpy under
rank_bm25 (the chat's search, now ``knowledge.bm25`` in plain Python: numpy is never
imported), Alembic with Mako and Pygments (migrations, which ``serve`` now runs in a child
process). This starts the real command on loopback, with SQLite and
tasks in-process, and records every module its process imports (an audit hook installed
before the command runs: the engine processes, the run process and the migration's child
are other interpreters and record nothing). None of those may be imported by start-up,
``/health`` or an authenticated read. The agents' stack comes with the first run where the
API process runs it on its own event loop (``RUN_PROCESS=false``), and never where its
run process does (the default: the run completes, so it ran elsewhere); and a question
answered from both searches (a fact and an article cited) must not bring numpy, so the
test cannot pass by a path that did not work.
A migration that fails in its child process is still one line.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.procs import STATIC_SITE, Proc, base_env, free_port, ok, sign_up

#: Imported by nothing an idle API does (top-level packages).
NOT_AT_START = ("langgraph", "langchain_core", "langsmith", "numpy", "rank_bm25", "alembic",
                "mako")
#: What the first run loads, where the API process runs it itself (``RUN_PROCESS=false``).
FOR_A_RUN = ("langgraph", "langchain_core")
#: Not loaded by a chat question either (BM25 is ``knowledge.bm25``).
NEVER = ("numpy", "rank_bm25")
RUN_TIMEOUT_S = 120

#: ``infra-mind serve`` as the console script runs it, after an audit hook that writes the
#: name of every module this interpreter imports to the file in argv[1].
PROBE = """
import sys
record = open(sys.argv[1], "a", buffering=1)
sys.addaudithook(lambda event, args: record.write(f"{args[0]}\\n") if event == "import"
                 else None)
from infra_mind.cli.main import main
raise SystemExit(main(sys.argv[2:]))
"""


def imported(record: Path) -> set[str]:
    """Top-level packages the server process has imported so far."""
    return {line.split(".")[0] for line in record.read_text().splitlines() if line}


async def _ready(http: httpx.AsyncClient, api: Proc) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert api.popen.poll() is None, f"serve exited {api.popen.poll()}:\n{api.tail()}"
        try:
            if (await http.get(f"{api.url}/health", timeout=2)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"serve not up after 60 s:\n{api.tail()}"
        await asyncio.sleep(0.1)


async def _completed(http: httpx.AsyncClient, api: Proc, headers: dict[str, str],
                     assessment_id: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        row = ok(await http.get(f"{api.url}/api/v1/assessments/{assessment_id}",
                                headers=headers), 200)
        if row["status"] == "completed":
            return
        assert row["status"] in ("queued", "running"), row
        assert time.monotonic() < deadline, f"run not done: {row}\n{api.tail()}"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("run_process", ["true", "false"])
async def test_serve_loads_the_agents_on_first_use_and_never_numpy(tmp_path, run_process):
    record = tmp_path / "imported.txt"
    record.touch()
    env = base_env(f"sqlite+aiosqlite:///{tmp_path}/serve.db", ENVIRONMENT="development",
                   JWT_SECRET_KEY=secrets.token_urlsafe(36)[:48], LOG_LEVEL="WARNING",
                   RUN_PROCESS=run_process)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [sys.executable, "-c", PROBE, str(record), "serve", "--host", "127.0.0.1",
             "--port", str(port)], env=env, cwd=tmp_path, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    api = Proc(name="serve", popen=popen, log=log, port=port)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            await _ready(http, api)
            headers = await sign_up(http, api.url)  # the migrations ran: tables exist
            ok(await http.get(f"{api.url}/api/v1/assessments", headers=headers), 200)
            at_start = imported(record)
            assert {"uvicorn", "fastapi", "sqlalchemy", "infra_mind"} <= at_start  # it sees
            assert sorted(at_start.intersection(NOT_AT_START)) == []

            created = ok(await http.post(f"{api.url}/api/v1/assessments", headers=headers,
                                         json={"title": "Lazy", "requirements": STATIC_SITE}),
                         201)
            ok(await http.post(f"{api.url}/api/v1/assessments/{created['id']}/run",
                               headers=headers), 202)
            await _completed(http, api, headers, created["id"])
            after_run = imported(record)
            if run_process == "true":  # the run process ran it: none of it came here
                assert sorted(after_run.intersection(NOT_AT_START)) == []
            else:
                assert set(FOR_A_RUN) <= after_run
            assert "alembic" not in after_run  # migrations ran in their own process

            chat = ok(await http.post(f"{api.url}/api/v1/chat/conversations", headers=headers,
                                      json={"assessment_id": created["id"]}), 201)
            answer = ok(await http.post(
                f"{api.url}/api/v1/chat/conversations/{chat['id']}/messages", headers=headers,
                json={"content": "What does the recommended option cost per month?"}), 201)
            assert answer["assistant_message"]["content"]
            cited = {c["kind"] for c in answer["assistant_message"]["citations"]}
            assert cited == {"fact", "article"}, answer  # both searches ranked something
            assert sorted(imported(record).intersection(NEVER)) == []
    finally:
        api.stop()


def test_a_failed_migration_is_one_line(capsys, monkeypatch):
    from infra_mind.cli.main import main

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:hunter2@127.0.0.1:1/none")
    code = main(["serve", "--port", str(free_port())])
    _, err = capsys.readouterr()
    # the child's reason, as the command said it when it migrated in its own process
    assert code == 1 and err == ("error: cannot migrate postgresql+asyncpg://***@127.0.0.1:1/"
                                 "none: ConnectionRefusedError: [Errno 111] Connect call "
                                 "failed ('127.0.0.1', 1)\n")
