"""A run meets a real PostgreSQL failure: a lost connection, or a statement refused.

The connection is lost for real: a test transaction locks the assessment's row, so the
worker's next statement waits on the lock, and the test terminates that waiting backend
(``pg_terminate_backend``), as a failover or an operator would. The refused statement is
a real constraint violation: a CHECK constraint (``NOT VALID``: existing rows stay) that
no result row can meet, added for the test and dropped after it.

PostgreSQL only (the SQLite half of the ``app`` fixture skips).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
import time
import uuid

import asyncpg
import pytest
from sqlalchemy import select

import infra_mind.engine.assess as engine_assess
from infra_mind.kit.db import connection_lost
from infra_mind.models import Assessment
from infra_mind.observability.logging import JsonFormatter
from infra_mind.worker import tasks
from tests.api.helpers import REQUIREMENTS, create_assessment, create_member
from tests.pg_failures import kill_backend_waiting_on_a_lock, lock_row, pg_url_of

BASE = "/api/v1/assessments"


async def _queued(app, client, requirements=None) -> str:
    owner = await create_member(app)
    aid = (await create_assessment(client, owner, requirements=requirements))["id"]
    response = await client.post(f"{BASE}/{aid}/run", headers=owner.headers)
    assert response.json()["assessment"]["status"] == "queued"
    return aid


async def _row(app, aid: str) -> Assessment:
    async with app.state.platform.sessions() as session:
        return (await session.execute(select(Assessment).where(Assessment.id == aid))
                ).scalar_one()


async def _kill_until_handed_back(pg: str, timeout_s: float = 30.0) -> list[str]:
    """Terminate every backend of our database that waits on the row lock, until one of
    them is the worker's hand-back (an UPDATE setting the status); the statements
    killed."""
    admin = await asyncpg.connect(pg, timeout=5)
    killed: list[str] = []
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            for row in await admin.fetch(
                    "SELECT pid, query FROM pg_stat_activity WHERE datname = "
                    "current_database() AND wait_event_type = 'Lock' "
                    "AND pid <> pg_backend_pid()"):
                await admin.fetchval("SELECT pg_terminate_backend($1)", row["pid"])
                killed.append(row["query"])
                if "SET status=" in row["query"]:
                    return killed
            assert time.monotonic() < deadline, f"no hand-back came; killed {killed}"
            await asyncio.sleep(0.02)
    finally:
        await admin.close()


async def test_a_run_whose_connection_is_lost_is_handed_back_at_once(app, client, held,
                                                                      monkeypatch,
                                                                      engine_in_this_process):
    """The database goes away under a run for longer than the agent graph's own retries:
    the run used to stay ``running`` and silent until the sweeper's job_timeout_s (10
    minutes by default). Now the worker hands it back as soon as the database answers."""
    app.state.platform.settings.run_progress_every_s = 0  # its progress written at once
    pg = pg_url_of(app)
    aid = await _queued(app, client)
    started, release = threading.Event(), threading.Event()
    real = engine_assess.assess

    def slow(requirements, catalog=None):
        started.set()
        release.wait(10)
        return real(requirements, catalog)

    monkeypatch.setattr(engine_assess, "assess", slow)
    held.clear()
    job = asyncio.create_task(tasks.run_assessment(aid))
    assert await asyncio.to_thread(started.wait, 10)
    locker = await lock_row(pg, aid)
    try:
        release.set()  # the run goes on to write its progress, and waits on the lock
        killed = await _kill_until_handed_back(pg)
        await asyncio.sleep(0.3)  # the hand-back, tried again, waits on the lock
    finally:
        await locker.execute("ROLLBACK")  # the database "answers" again
        await locker.close()
    assert await asyncio.wait_for(job, 30) == "interrupted"
    assert any("SET progress=" in query for query in killed), killed
    handed_back = await _row(app, aid)
    assert handed_back.status == "queued" and handed_back.worker_id is None
    assert handed_back.error == "the database was unavailable; the run will be retried"
    assert held == [aid]  # sent again
    monkeypatch.setattr(engine_assess, "assess", real)
    assert await tasks.run_assessment(aid) == "completed"
    done = await _row(app, aid)
    assert done.attempts == 2 and done.error is None


async def test_a_claim_whose_connection_is_lost_is_tried_again(app, client, held):
    """The claim's statement died with its connection: the worker tries again when the
    database answers, instead of raising and leaving the run queued with no message."""
    pg = pg_url_of(app)
    aid = await _queued(app, client)
    locker = await lock_row(pg, aid)
    try:
        job = asyncio.create_task(tasks.run_assessment(aid))
        await kill_backend_waiting_on_a_lock(pg)
        await asyncio.sleep(0.3)
    finally:
        await locker.execute("ROLLBACK")
        await locker.close()
    assert await asyncio.wait_for(job, 30) == "completed"
    assert (await _row(app, aid)).attempts == 1


async def test_a_database_error_reads_as_one_plain_line_and_logs_no_data(app, client,
                                                                          held):
    """A statement PostgreSQL refuses (here a CHECK on the result row) used to put
    ``IntegrityError: (sqlalchemy.dialects.postgresql.asyncpg.IntegrityError) <class
    'asyncpg...'>: new row for relation ...`` in ``error``, and the log's traceback
    carried the statement's parameters: the whole result, the user's requirements."""
    pg = pg_url_of(app)
    marker = f"Marker-{uuid.uuid4().hex}"
    aid = await _queued(app, client, requirements={**REQUIREMENTS, "name": marker})
    constraint = f"im_test_reject_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg, timeout=5)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        await admin.execute(f"ALTER TABLE assessment_results ADD CONSTRAINT {constraint} "
                            "CHECK (version < 0) NOT VALID")
        assert await tasks.run_assessment(aid) == "failed"
    finally:
        root.removeHandler(handler)
        await admin.execute(f"ALTER TABLE assessment_results DROP CONSTRAINT IF EXISTS "
                            f"{constraint}")
        await admin.close()
    failed = await _row(app, aid)
    assert failed.status == "failed"
    assert failed.error.startswith("internal error (reference "), failed.error
    reference = failed.error.removeprefix("internal error (reference ").removesuffix(")")
    assert len(reference) == 12
    for leak in ("sqlalchemy", "asyncpg", "assessment_results", constraint, marker):
        assert leak not in failed.error
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    logged = [line for line in lines if reference in line.get("message", "")]
    assert len(logged) == 1, lines
    trace = logged[0]["exception"]
    # the log keeps what an operator needs: the error class, SQLSTATE, constraint, SQL
    assert "CheckViolationError" in trace and "sqlstate 23514" in trace
    assert f"constraint {constraint}" in trace and "INSERT INTO assessment_results" in trace
    # and no data: neither the statement's parameters nor the requirements they carry
    assert marker not in stream.getvalue()
    assert "[parameters:" not in stream.getvalue()


async def test_a_connection_terminated_before_its_first_use_counts_as_lost(pg_database):
    """A backend terminated while the pool was still setting its new connection up (the
    JSON codec SQLAlchemy installs on connect) failed a run's claim as an error, and the
    run stayed queued: nothing marks a connection invalidated before it is handed out.
    asyncpg says so in its own words, which now count as a lost connection."""
    url = pg_database.replace("+asyncpg", "")
    conn = await asyncpg.connect(url)
    try:
        admin = await asyncpg.connect(url)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
        finally:
            await admin.close()
        for _ in range(100):  # until the client has read the server's goodbye
            if conn.is_closed():
                break
            await asyncio.sleep(0.05)
        with pytest.raises(asyncpg.InterfaceError) as caught:
            await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads,
                                      schema="pg_catalog")
        assert connection_lost(caught.value)
    finally:
        conn.terminate()
    other = asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
    assert not connection_lost(other)  # a misuse, not a lost connection
