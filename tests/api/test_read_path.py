"""Reads at the speed of the framework (#14): an authenticated read runs one statement, for
the object, and none for the caller (a cached result or list, none at all:
``test_cached_reads``); a result is served as the bytes first written, with a strong ETag,
and an ``If-None-Match`` that names it is answered 304.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from infra_mind.api.schemas.assessments import ResultRead
from infra_mind.kit.db import session_scope
from infra_mind.repositories.assessments import AssessmentRepository
from infra_mind.services.auth import forget_access
from infra_mind.worker import tasks
from tests.api.helpers import REQUIREMENTS, create_assessment, create_member

BASE = "/api/v1/assessments"
CALLER_TABLES = re.compile(r"\b(users|memberships)\b")


@contextlib.contextmanager
def statements(app) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    engine = app.state.platform.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def completed(client, member, requirements=None) -> str:
    """An assessment with a result (the run executed here, as a worker would)."""
    assessment = await create_assessment(client, member, requirements=requirements)
    await run(client, member, assessment["id"])
    return assessment["id"]


async def run(client, member, assessment_id: str) -> None:
    queued = await client.post(f"{BASE}/{assessment_id}/run", headers=member.headers)
    assert queued.status_code == 202, queued.text
    assert await tasks.run_assessment(assessment_id) == "completed"


async def test_an_authenticated_read_runs_no_sql_for_the_caller(app, client, held):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    assert (await client.get(f"{BASE}/{aid}", headers=owner.headers)).status_code == 200
    for path in (f"{BASE}/{aid}", BASE):
        with statements(app) as seen:
            response = await client.get(path, headers=owner.headers)
        assert response.status_code == 200, response.text
        assert len(seen) == 1, seen  # the object (a page and its total: one statement)
        assert not CALLER_TABLES.search(seen[0]), seen


async def test_the_caller_is_read_in_one_statement_when_the_cache_lacks_them(app, client, held):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    await forget_access(app.state.platform, owner.user_id)
    with statements(app) as seen:
        assert (await client.get(f"{BASE}/{aid}", headers=owner.headers)).status_code == 200
    assert len(seen) == 2, seen
    assert CALLER_TABLES.search(seen[0]) and not CALLER_TABLES.search(seen[1]), seen


async def test_a_cached_result_is_no_statement_and_the_stored_bytes(app, client, held):
    owner = await create_member(app)
    aid = await completed(client, owner)
    first = await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
    assert first.status_code == 200, first.text
    with statements(app) as seen:
        second = await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
    assert seen == []  # the access entry and the document are cached (test_cached_reads)
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"
    assert second.headers["cache-control"] == "private, no-cache"
    etag = second.headers["etag"]
    assert re.fullmatch(r'"1-[0-9a-f]{32}"', etag), etag
    stored = await app.state.platform.cache.get(f"result-json:{aid}:1")
    assert stored == f"{etag}\n{second.text}"
    # the bytes are the response model's, as FastAPI would have written them
    model = ResultRead.model_validate_json(second.content)
    assert json.loads(second.content) == json.loads(model.model_dump_json())
    async with session_scope(app.state.platform.sessions) as session:
        row = await AssessmentRepository(session, [owner.organization_id]).latest_result(aid)
    assert row is not None and model.result == row.result and model.version == 1


@pytest.mark.parametrize("header", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
async def test_if_none_match_naming_the_result_is_304(app, client, held, header):
    owner = await create_member(app)
    aid = await completed(client, owner)
    etag = (await client.get(f"{BASE}/{aid}/result", headers=owner.headers)).headers["etag"]
    match = {**owner.headers, "If-None-Match": header.format(etag=etag)}
    not_modified = await client.get(f"{BASE}/{aid}/result", headers=match)
    assert not_modified.status_code == 304, not_modified.text
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    # access is checked first: another organization's caller gets 404, ETag or not
    stranger = await create_member(app)
    refused = await client.get(f"{BASE}/{aid}/result",
                               headers={**stranger.headers, "If-None-Match": etag})
    assert (refused.status_code, refused.json()) == (404, {"detail": "assessment not found"})


async def test_a_new_result_has_a_new_etag(app, client, held):
    owner = await create_member(app)
    aid = await completed(client, owner)
    old = (await client.get(f"{BASE}/{aid}/result", headers=owner.headers)).headers["etag"]
    stale = {**owner.headers, "If-None-Match": old}
    assert (await client.get(f"{BASE}/{aid}/result", headers=stale)).status_code == 304
    bigger = copy.deepcopy(REQUIREMENTS)
    for workload in bigger["workloads"]:
        if "peak_rps" in workload:
            workload["peak_rps"] *= 20
    patched = await client.patch(f"{BASE}/{aid}", headers=owner.headers,
                                 json={"requirements": bigger})
    assert patched.status_code == 200, patched.text
    await run(client, owner, aid)
    newer = await client.get(f"{BASE}/{aid}/result", headers=stale)
    assert newer.status_code == 200 and newer.json()["version"] == 2
    assert newer.headers["etag"] != old and newer.headers["etag"].startswith('"2-')
    unmatched = {**owner.headers, "If-None-Match": '"1-0000"'}
    assert (await client.get(f"{BASE}/{aid}/result", headers=unmatched)).status_code == 200


async def test_no_result_yet_and_unknown_assessments_are_told_apart(app, client, held):
    owner = await create_member(app)
    draft = (await create_assessment(client, owner))["id"]
    for aid, detail in ((draft, "no result yet"), ("no-such-id", "assessment not found")):
        response = await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
        assert (response.status_code, response.json()) == (404, {"detail": detail})
