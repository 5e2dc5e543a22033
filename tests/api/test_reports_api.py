"""GET /api/v1/assessments/{id}/reports/{kind} on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import update

from infra_mind.kit.db import session_scope
from infra_mind.models import AssessmentResultRow
from infra_mind.reports.render import render_report
from infra_mind.worker import tasks
from tests.api.helpers import create_assessment, create_member

BASE = "/api/v1/assessments"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HIPAA: dict[str, Any] = yaml.safe_load((EXAMPLES / "hipaa-telehealth.yaml").read_text())
MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
         "json": "application/json"}


async def _completed(app, client, member) -> str:
    """An assessment of ``member``'s organization with one finished run."""
    created = await create_assessment(client, member, requirements=HIPAA)
    run = await client.post(f"{BASE}/{created['id']}/run", headers=member.headers)
    assert run.status_code == 202, run.text
    assert await tasks.run_assessment(created["id"]) == "completed"
    return created["id"]


def _generated(app, kind: str, fmt: str, status: str) -> float:
    return app.state.platform.metrics.reports.labels(kind=kind, format=fmt,
                                                     status=status)._value.get()


@pytest.mark.parametrize("kind", ["executive", "technical", "compliance"])
async def test_every_format_of_a_kind(app, client, held, kind):
    owner = await create_member(app)
    aid = await _completed(app, client, owner)
    result = (await client.get(f"{BASE}/{aid}/result", headers=owner.headers)).json()["result"]
    for fmt in ("md", "html", "json"):
        params = {} if fmt == "md" else {"format": fmt}
        response = await client.get(f"{BASE}/{aid}/reports/{kind}", headers=owner.headers,
                                    params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == MEDIA[fmt]
        assert response.headers["content-disposition"] == \
            f'inline; filename="telehealth-platform-hipaa-{kind}.{fmt}"'
        assert response.text == render_report(result, kind, fmt)
        assert _generated(app, kind, fmt, "ok") == 1
        if fmt == "html":
            assert "default-src 'none'" in response.headers["content-security-policy"]
            assert response.text.startswith("<!DOCTYPE html>")
        if fmt == "json":
            doc = response.json()
            assert doc["kind"] == kind and doc["assessment"]["name"] == HIPAA["name"]


async def test_a_stored_narrative_reaches_the_report(app, client, held):
    owner = await create_member(app)
    aid = await _completed(app, client, owner)
    async with session_scope(app.state.platform.sessions) as session:
        row = (await session.execute(
            AssessmentResultRow.__table__.select().where(
                AssessmentResultRow.assessment_id == aid))).mappings().one()
        advice = {**row["result"], "narrative": {"cto": {"executive_summary": {
            "agent": "cto", "key": "executive_summary", "title": "Executive summary",
            "markdown": "Go with **AWS**. <script>alert(1)</script>", "author": "offline",
            "number_check": "offline", "note": "no provider"}}}}
        await session.execute(update(AssessmentResultRow)
                              .where(AssessmentResultRow.assessment_id == aid)
                              .values(result=advice))
    response = await client.get(f"{BASE}/{aid}/reports/executive", headers=owner.headers,
                                params={"format": "html"})
    assert response.status_code == 200, response.text
    assert "<strong>AWS</strong>" in response.text and "<script" not in response.text
    assert "Written by the offline writer (no model): Executive summary." in response.text
    doc = (await client.get(f"{BASE}/{aid}/reports/executive", headers=owner.headers,
                            params={"format": "json"})).json()
    assert doc["sections"][0]["key"] == "cto.executive_summary"


async def test_no_result_yet_is_404(app, client, held):
    owner = await create_member(app)
    created = await create_assessment(client, owner, requirements=HIPAA)
    response = await client.get(f"{BASE}/{created['id']}/reports/executive",
                                headers=owner.headers)
    assert (response.status_code, response.json()) == (404, {"detail": "no result yet"})
    missing = await client.get(f"{BASE}/00000000-0000-0000-0000-000000000000/reports/"
                               "executive", headers=owner.headers)
    assert missing.status_code == 404


@pytest.mark.parametrize("path, params", [
    ("reports/board", {}),
    ("reports/executive", {"format": "pdf"}),
    ("reports/EXECUTIVE", {}),
])
async def test_bad_kind_or_format_is_422(app, client, held, path, params):
    owner = await create_member(app)
    aid = await _completed(app, client, owner)
    response = await client.get(f"{BASE}/{aid}/{path}", headers=owner.headers, params=params)
    assert response.status_code == 422, response.text


async def test_another_organization_gets_404_and_a_viewer_reads(app, client, held):
    owner = await create_member(app)
    aid = await _completed(app, client, owner)
    outsider = await create_member(app)
    viewer = await create_member(app, role="viewer", organization_id=owner.organization_id)
    for fmt in ("md", "html", "json"):
        response = await client.get(f"{BASE}/{aid}/reports/compliance",
                                    headers=outsider.headers, params={"format": fmt})
        assert (response.status_code, response.json()) == (404,
                                                           {"detail": "assessment not found"})
        assert HIPAA["name"] not in response.text
    seen = await client.get(f"{BASE}/{aid}/reports/compliance", headers=viewer.headers)
    assert seen.status_code == 200 and HIPAA["name"] in seen.text
    anonymous = await client.get(f"{BASE}/{aid}/reports/compliance")
    assert anonymous.status_code == 401


async def test_a_result_that_is_not_a_result_counts_an_error(app, client, held):
    owner = await create_member(app)
    aid = await _completed(app, client, owner)
    async with session_scope(app.state.platform.sessions) as session:
        await session.execute(update(AssessmentResultRow)
                              .where(AssessmentResultRow.assessment_id == aid)
                              .values(result={"requirements": {"name": "broken"}}))
    with pytest.raises(ValueError, match="not an assessment result"):
        await client.get(f"{BASE}/{aid}/reports/technical", headers=owner.headers)
    assert _generated(app, "technical", "md", "error") == 1


async def test_openapi_documents_the_route(client):
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"][f"{BASE}/{{assessment_id}}/reports/{{kind}}"]["get"]
    assert set(operation["responses"]["200"]["content"]) == set(MEDIA.values())
    assert {"401", "404", "422"} <= set(operation["responses"])
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["format"]["in"] == "query"
    assert json.dumps(spec).count("ReportKind") >= 1
