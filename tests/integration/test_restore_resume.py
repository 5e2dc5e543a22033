"""Backups leave out the agents' checkpoints; a run in progress at backup time still ends
well after a restore.

A run's checkpoints are named by its run key (``RunRepository.run_key``: the assessment,
the result version it will write, the requirements' hash), computed from rows the backup
does carry. So after a restore the sweeper requeues the run (its heartbeat is old), and
the next claim looks up the same thread: where the checkpoint store survived (a restore
into the same database, or beside the same SQLite file) the run resumes from it; where it
did not (a new host, a new database) the run starts from its beginning. Either way it
completes once, with one result.

Here (SQLite, tasks in-process, the agents' model a loopback fake that is slow for the
CTO): ``serve`` is killed while the CTO writes, ``infra-mind backup`` is taken, then

1. restored into a new database on a "new host" (no checkpoints): the run starts over:
   every agent is asked again;
2. restored over the original database (its checkpoint file kept): the run resumes:
   research, cloud engineer and compliance come from the checkpoint, not the model.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx

from infra_mind.agents.narrative import SECTIONS
from tests.fake_llm import serve_fake
from tests.integration.procs import Proc, logs_on_failure, ok, serve, sign_up, wait_ready
from tests.integration.test_agent_resume import (
    AGENTS,
    BEFORE_CTO,
    READY_TIMEOUT_S,
    _env,
    _requested,
    _slow_cto,
    _start_run,
    _wait_completed,
    _wait_in_cto,
)


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "infra_mind", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"infra-mind {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def _row(database: Path, assessment_id: str) -> tuple[str, int, list[int]]:
    with sqlite3.connect(database) as conn:
        status, attempts = conn.execute("SELECT status, attempts FROM assessments WHERE id = ?",
                                        (assessment_id,)).fetchone()
        versions = [v for (v,) in conn.execute(
            "SELECT version FROM assessment_results WHERE assessment_id = ?", (assessment_id,))]
    return status, attempts, versions


def _asked(before: Counter, after: Counter, agent: str) -> set[int]:
    """How many times each of ``agent``'s sections was asked between two counts."""
    return {after[(agent, title)] - before[(agent, title)]
            for title in SECTIONS[agent].values()}


async def test_a_run_in_progress_at_backup_time_completes_after_a_restore(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    database = live / "resume.db"
    procs: list[Proc] = []
    with serve_fake(responder=_slow_cto) as fake, logs_on_failure(procs):
        env = _env(f"sqlite+aiosqlite:///{database}", fake, None)
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                first = serve("serve1", env, tmp_path)
                procs.append(first)
                await wait_ready(http, [first], procs, READY_TIMEOUT_S)
                headers = await sign_up(http, first.url)
                assessment_id = await _start_run(http, first, headers)
                await _wait_in_cto(http, first, headers, assessment_id, fake)
                first.kill()
                assert database.with_name("resume.checkpoints.db").is_file()

                backups = tmp_path / "backups"
                backup_id = cli(env, "backup", "--dir", str(backups)).split()[-1]
                assert _row(database, assessment_id)[:2] == ("running", 1)

                # 1. a new host: the backup restored into a new database, no checkpoints
                recovered = tmp_path / "new-host" / "recovered.db"
                recovered.parent.mkdir()
                env_new = {**env, "DATABASE_URL": f"sqlite+aiosqlite:///{recovered}"}
                cli(env_new, "restore", backup_id, "--dir", str(backups), "--yes")
                assert not recovered.with_name("recovered.checkpoints.db").exists()
                before = _requested(fake)
                second = serve("serve-new-host", env_new, tmp_path)
                procs.append(second)
                await wait_ready(http, [second], [second], READY_TIMEOUT_S)
                await _wait_completed(http, second, headers, assessment_id, [second])
                fresh = ok(await http.get(
                    f"{second.url}/api/v1/assessments/{assessment_id}/result",
                    headers=headers), 200)
                second.stop()
                started_over = _requested(fake)

                # 2. the same host: restored over the database, its checkpoint file kept
                cli(env, "restore", backup_id, "--dir", str(backups), "--yes")
                assert _row(database, assessment_id)[:2] == ("running", 1)
                third = serve("serve-same-host", env, tmp_path)
                procs.append(third)
                await wait_ready(http, [third], [third], READY_TIMEOUT_S)
                await _wait_completed(http, third, headers, assessment_id, [third])
                resumed = ok(await http.get(
                    f"{third.url}/api/v1/assessments/{assessment_id}/result",
                    headers=headers), 200)
        finally:
            for proc in procs:
                proc.stop()

    # the new host ran every agent again, each section once
    for agent in AGENTS:
        assert _asked(before, started_over, agent) == {1}, agent
    assert _row(recovered, assessment_id) == ("completed", 2, [1])
    # the same host took the first three agents from the checkpoint
    for agent in AGENTS:
        assert _asked(started_over, _requested(fake), agent) == \
            ({0} if agent in BEFORE_CTO else {1}), agent
    assert _row(database, assessment_id) == ("completed", 2, [1])
    for result in (fresh, resumed):
        assert result["version"] == 1
        narrative = result["result"]["narrative"]
        assert set(narrative) == set(AGENTS)
        assert all(section["author"].startswith("openai/")
                   for agent in AGENTS for section in narrative[agent].values())
    # the engine's figures do not depend on where the run began
    assert fresh["result"]["options"] == resumed["result"]["options"]
