"""The list of assessments carries each one's latest recommendation (issue #13): provider,
region and monthly cost, so the web app's list needs no request per result. On SQLite and
PostgreSQL (the values are read out of the stored JSON with each database's JSON path).
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from infra_mind.kit.db import session_scope
from infra_mind.repositories.assessments import AssessmentRepository, RunRepository
from infra_mind.worker import tasks
from tests.api.helpers import REQUIREMENTS, create_assessment, create_member

BASE = "/api/v1/assessments"
FIELDS = ("recommended_provider", "recommended_region", "recommended_monthly_cost_usd")


async def _listed(client, member) -> dict[str, dict[str, Any]]:
    response = await client.get(BASE, headers=member.headers, params={"limit": 100})
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["items"]}


async def _run(client, member, assessment_id: str) -> dict[str, Any]:
    queued = await client.post(f"{BASE}/{assessment_id}/run", headers=member.headers)
    assert queued.status_code == 202, queued.text
    assert await tasks.run_assessment(assessment_id) == "completed"
    result = await client.get(f"{BASE}/{assessment_id}/result", headers=member.headers)
    assert result.status_code == 200, result.text
    return result.json()


def _recommended(item: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(item[name] for name in FIELDS)


async def test_a_draft_has_no_recommendation(app, client, held):
    owner = await create_member(app)
    draft = await create_assessment(client, owner)
    assert _recommended((await _listed(client, owner))[draft["id"]]) == (None, None, None)


async def test_the_list_shows_the_latest_results_recommendation(app, client, held):
    owner = await create_member(app)
    first = await create_assessment(client, owner, title="first")
    other = await create_assessment(client, owner, title="other")
    result = await _run(client, owner, first["id"])
    recommended = result["result"]["recommended"]
    listed = await _listed(client, owner)
    assert _recommended(listed[first["id"]]) == (
        recommended["provider"], recommended["region"], recommended["monthly_cost_usd"])
    assert isinstance(listed[first["id"]]["recommended_monthly_cost_usd"], float)
    assert _recommended(listed[other["id"]]) == (None, None, None)
    # the requirements change and run again: the newer result is the one listed
    bigger = copy.deepcopy(REQUIREMENTS)
    for workload in bigger["workloads"]:
        if "peak_rps" in workload:
            workload["peak_rps"] *= 20
    patched = await client.patch(f"{BASE}/{first['id']}", headers=owner.headers,
                                 json={"requirements": bigger})
    assert patched.status_code == 200, patched.text
    second = await _run(client, owner, first["id"])
    assert second["version"] == 2
    newer = second["result"]["recommended"]
    assert newer["monthly_cost_usd"] != recommended["monthly_cost_usd"]
    assert _recommended((await _listed(client, owner))[first["id"]]) == (
        newer["provider"], newer["region"], newer["monthly_cost_usd"])


async def test_a_result_without_a_recommendation_lists_nulls(app, client, held):
    """A result where no design met the requirements (``recommended`` is null)."""
    owner = await create_member(app)
    assessment = await create_assessment(client, owner)
    async with session_scope(app.state.platform.sessions) as session:
        await RunRepository(session).add_result(assessment["id"], {"recommended": None},
                                                date(2026, 1, 1))
    assert _recommended((await _listed(client, owner))[assessment["id"]]) == (None, None, None)


async def test_another_organizations_results_are_not_read(app, client, held):
    owner = await create_member(app)
    outsider = await create_member(app)
    assessment = await create_assessment(client, owner)
    await _run(client, owner, assessment["id"])
    assert assessment["id"] not in await _listed(client, outsider)
    # the query itself is tenant-filtered, not only the page it decorates
    async with session_scope(app.state.platform.sessions) as session:
        theirs = AssessmentRepository(session, [outsider.organization_id])
        assert await theirs.latest_recommendations([assessment["id"]]) == {}
        ours = AssessmentRepository(session, [owner.organization_id])
        assert set(await ours.latest_recommendations([assessment["id"]])) == {assessment["id"]}
