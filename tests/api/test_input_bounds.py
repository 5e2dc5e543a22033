"""Input limits of the assessment API, on SQLite and PostgreSQL (issue #10, items 1, 3, 12).

Before: ``Infinity``, ``NaN`` and ``1e309`` in a requirements document were accepted
(PostgreSQL then failed the insert: a 500 and a reset connection; SQLite stored them), a
what-if could name ``aws`` thousands of times (seconds of work and hundreds of MB each
request) or scale a rate into an overflow (a 500), and an empty ``Idempotency-Key`` was
stored as a key, so the next empty key on another assessment answered 409.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from infra_mind.engine.requirements import MAX_RPS, RESIDENCY_PLACES
from infra_mind.models import Assessment, IdempotencyKey
from tests.api.helpers import REQUIREMENTS, Member, create_assessment, create_member

BASE = "/api/v1/assessments"
FINITE = "Input should be a finite number"


async def _count(app, column) -> int:
    async with app.state.platform.sessions() as session:
        return int(await session.scalar(select(func.count(column))) or 0)


def _raw(member: Member, text: str) -> dict[str, Any]:
    """A body as written, not as ``json.dumps`` would write it (httpx refuses NaN)."""
    return {"content": text.encode(),
            "headers": {**member.headers, "Content-Type": "application/json"}}


def _with_literal(literal: str) -> str:
    """The create body with ``peak_rps`` of the first workload written as ``literal``."""
    requirements = copy.deepcopy(REQUIREMENTS)
    requirements["workloads"][0]["peak_rps"] = "__HERE__"
    return json.dumps({"title": "Shop", "requirements": requirements}) \
        .replace('"__HERE__"', literal)


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e309"])
async def test_non_finite_numbers_answer_422_naming_the_field(app, client, literal):
    owner = await create_member(app)
    created = await client.post(BASE, **_raw(owner, _with_literal(literal)))
    assert created.status_code == 422, created.text
    assert created.json() == {"detail": "invalid requirements",
                              "problems": [f"workloads[0].peak_rps: {FINITE}"]}
    assert await _count(app, Assessment.id) == 0

    aid = (await create_assessment(client, owner))["id"]  # the connection is fine
    body = _with_literal(literal).replace('"title": "Shop", ', "")
    updated = await client.patch(f"{BASE}/{aid}", **_raw(owner, body))
    assert updated.status_code == 422, updated.text
    assert updated.json()["problems"] == [f"workloads[0].peak_rps: {FINITE}"]
    what_if = await client.post(f"{BASE}/{aid}/what-if",
                                **_raw(owner, f'{{"traffic_multiplier": {literal}}}'))
    assert what_if.status_code == 422, what_if.text
    assert what_if.json()["problems"] == [f"body.traffic_multiplier: {FINITE}"]
    stored = await client.get(f"{BASE}/{aid}", headers=owner.headers)
    assert stored.json()["requirements"] == REQUIREMENTS


async def test_a_what_if_past_a_bound_is_422_naming_the_field(app, client):
    """The changed requirements are validated again: 100 x 200,000 rps is past the bound;
    the answer names the field, never a 500."""
    owner = await create_member(app)
    busy = copy.deepcopy(REQUIREMENTS)
    busy["workloads"][0].update(peak_rps=200_000, cpu_ms_per_request=1)
    aid = (await create_assessment(client, owner, requirements=busy))["id"]
    response = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                                 json={"traffic_multiplier": 100})
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": "invalid what-if", "problems": [
        f"workloads[0].peak_rps: Input should be less than or equal to {MAX_RPS}"]}
    fine = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                             json={"traffic_multiplier": 50})
    assert fine.status_code == 200, fine.text
    assert fine.json()["result"]["requirements"]["workloads"][0]["peak_rps"] == 10_000_000


async def test_what_if_lists_are_bounded_and_name_each_value_once(app, client):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    cases = [
        ({"providers": ["aws"] * 3000},
         "body.providers: List should have at most 3 items after validation, not 3000"),
        ({"providers": ["aws", "gcp", "aws"]},
         "body.providers: each value at most once; repeated: aws"),
        ({"data_residency": ["eu", "us", "eu"]},
         "body.data_residency: each value at most once; repeated: eu"),
        ({"data_residency": ["eu"] * 1000},
         f"body.data_residency: List should have at most {len(RESIDENCY_PLACES)} items after "
         "validation, not 1000"),
    ]
    for body, problem in cases:
        response = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["problems"] == [problem]
    ok = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                           json={"providers": ["gcp", "aws"], "data_residency": ["us"]})
    assert ok.status_code == 200, ok.text


async def test_requirement_lists_are_bounded_and_name_each_value_once(app, client):
    owner = await create_member(app)
    for preferences, problem in [
            ({"providers": ["aws"] * 3000},
             "preferences.providers: List should have at most 3 items after validation, "
             "not 3000"),
            ({"providers": ["aws", "aws"]},
             "preferences.providers: each value at most once; repeated: aws"),
            ({"regions": ["us-east-1", "us-east-1"]},
             "preferences.regions: each value at most once; repeated: us-east-1")]:
        requirements = {**REQUIREMENTS, "preferences": preferences}
        response = await client.post(BASE, headers=owner.headers,
                                     json={"title": "Shop", "requirements": requirements})
        assert response.status_code == 422, (preferences, response.text)
        assert response.json()["problems"] == [problem]
    assert await _count(app, Assessment.id) == 0


async def test_an_empty_idempotency_key_is_refused(app, client):
    owner = await create_member(app)
    first = (await create_assessment(client, owner))["id"]
    second = (await create_assessment(client, owner))["id"]
    for aid in (first, second):  # the second used to be a 409: "" was stored as a key
        response = await client.post(f"{BASE}/{aid}/run",
                                     headers={**owner.headers, "Idempotency-Key": ""})
        assert response.status_code == 422, response.text
        assert response.json()["problems"] == [
            "header.idempotency-key: String should have at least 1 character"]
    assert await _count(app, IdempotencyKey.id) == 0
    assert (await client.get(f"{BASE}/{first}", headers=owner.headers)).json()["status"] \
        == "draft"


async def test_catalog_compare_items_are_bounded(app, client):
    owner = await create_member(app)
    item = {"provider": "aws", "sku": "m5.large", "region": "us-east-1"}
    response = await client.post("/api/v1/catalog/compare", headers=owner.headers, json={
        "items": [item, {**item, "sku": "m" * 100_000}]})
    assert response.status_code == 422, response.text
    assert response.json()["problems"] == [
        "body.items[1].sku: String should have at most 128 characters"]
