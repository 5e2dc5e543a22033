"""/api/v1/assessments on SQLite and PostgreSQL, with the in-process task broker."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from infra_mind.catalog.regions import REGIONS, region
from infra_mind.models import Assessment, AuditEvent, IdempotencyKey
from infra_mind.worker import queue, tasks
from tests.api.helpers import (
    REQUIREMENTS,
    add_membership,
    create_assessment,
    create_member,
    wait_for_status,
)

BASE = "/api/v1/assessments"


@pytest.fixture()
def enqueued(monkeypatch) -> list[str]:
    """Ids sent to ``assessment.run``; the jobs still run."""
    sent: list[str] = []
    real = queue.runs.send

    async def spy(assessment_id: str):
        sent.append(assessment_id)
        return await real(assessment_id)

    monkeypatch.setattr(queue.runs, "send", spy)
    return sent




async def count(app, *where) -> int:
    async with app.state.platform.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(where[0].table)
                                        .where(*where[1:])) or 0)


async def test_create_run_poll_result(app, client, enqueued):
    owner = await create_member(app)
    created = await create_assessment(client, owner, title="  Shop  ")
    assert created["status"] == "draft"
    assert created["title"] == "Shop"
    assert created["organization_id"] == owner.organization_id
    assert created["owner_id"] == owner.user_id
    assert len(created["requirements_hash"]) == 64

    no_result = await client.get(f"{BASE}/{created['id']}/result", headers=owner.headers)
    assert no_result.status_code == 404
    assert no_result.json() == {"detail": "no result yet"}

    run = await client.post(f"{BASE}/{created['id']}/run", headers=owner.headers)
    assert run.status_code == 202, run.text
    assert run.json()["assessment"]["status"] == "queued"
    assert run.json()["assessment"]["progress"] == 0
    assert enqueued == [created["id"]]

    done = await wait_for_status(client, owner, created["id"])
    assert done["progress"] == 100
    assert done["error"] is None
    assert done["attempts"] == 1
    assert done["started_at"] and done["finished_at"]

    result = await client.get(f"{BASE}/{created['id']}/result", headers=owner.headers)
    assert result.status_code == 200
    body = result.json()
    assert body["version"] == 1
    assert body["catalog_as_of"] == body["result"]["catalog_as_of"]
    assert body["result"]["recommended"]["provider"] in ("aws", "gcp")
    assert body["result"]["options"]

    assert await count(app, AuditEvent.action, AuditEvent.action == "assessment.created",
                       AuditEvent.object_id == created["id"]) == 1
    metrics = app.state.platform.metrics.assessments
    assert metrics.labels(event="created")._value.get() == 1
    # the run counts itself once its result is settled and its checkpoint forgotten, just
    # after the status the poll saw was committed: wait for it (bounded), then exactly one
    completed = metrics.labels(event="completed")
    for _ in range(200):
        if completed._value.get() >= 1:
            break
        await asyncio.sleep(0.05)
    assert completed._value.get() == 1


async def test_second_run_stores_next_version(app, client):
    owner = await create_member(app)
    created = await create_assessment(client, owner)
    for _ in range(2):
        assert (await client.post(f"{BASE}/{created['id']}/run",
                                  headers=owner.headers)).status_code == 202
        await wait_for_status(client, owner, created["id"])
    result = await client.get(f"{BASE}/{created['id']}/result", headers=owner.headers)
    assert result.json()["version"] == 2


async def test_invalid_requirements_name_field_paths(app, client):
    owner = await create_member(app)
    bad = json.loads(json.dumps(REQUIREMENTS))
    bad["workloads"][0]["peak_rps"] = -5
    bad["workloads"][1]["colour"] = "blue"
    response = await client.post(BASE, headers=owner.headers,
                                 json={"title": "Bad", "requirements": bad})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "invalid requirements"
    assert any(p.startswith("workloads[0].peak_rps: ") for p in body["problems"])
    assert any(p.startswith("workloads[1].colour: ") for p in body["problems"])

    no_title = await client.post(BASE, headers=owner.headers,
                                 json={"title": "", "requirements": REQUIREMENTS})
    assert no_title.status_code == 422
    assert no_title.json()["problems"][0].startswith("body.title")


async def test_list_pages_newest_first_and_filters_by_status(app, client):
    owner = await create_member(app)
    stranger = await create_member(app)
    await create_assessment(client, stranger, title="not mine")
    ids = [(await create_assessment(client, owner, title=f"a{i}"))["id"] for i in range(5)]
    await client.post(f"{BASE}/{ids[0]}/run", headers=owner.headers)
    await wait_for_status(client, owner, ids[0])

    first = (await client.get(BASE, headers=owner.headers, params={"limit": 2})).json()
    assert first["total"] == 5 and first["limit"] == 2 and first["offset"] == 0
    assert [a["title"] for a in first["items"]] == ["a4", "a3"]
    assert "requirements" not in first["items"][0]
    last = (await client.get(BASE, headers=owner.headers,
                             params={"limit": 2, "offset": 4})).json()
    assert [a["title"] for a in last["items"]] == ["a0"]

    completed = (await client.get(BASE, headers=owner.headers,
                                  params={"status": "completed"})).json()
    assert completed["total"] == 1 and completed["items"][0]["id"] == ids[0]
    drafts = (await client.get(BASE, headers=owner.headers, params={"status": "draft"})).json()
    assert drafts["total"] == 4

    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"status": "bogus"}):
        assert (await client.get(BASE, headers=owner.headers, params=params)
                ).status_code == 422


async def test_another_organizations_assessment_is_not_found_everywhere(app, client, held):
    owner = await create_member(app)
    created = await create_assessment(client, owner)
    outsider = await create_member(app)  # owner of another organization
    aid = created["id"]
    calls = [("GET", f"{BASE}/{aid}", None), ("PATCH", f"{BASE}/{aid}", {"title": "x"}),
             ("DELETE", f"{BASE}/{aid}", None), ("POST", f"{BASE}/{aid}/run", None),
             ("POST", f"{BASE}/{aid}/cancel", None), ("GET", f"{BASE}/{aid}/result", None),
             ("GET", f"{BASE}/{aid}/events", None),
             ("POST", f"{BASE}/{aid}/what-if", {"traffic_multiplier": 2})]
    for method, url, body in calls:
        response = await client.request(method, url, headers=outsider.headers, json=body)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json() == {"detail": "assessment not found"}
    assert (await client.get(BASE, headers=outsider.headers)).json()["total"] == 0
    other_org = await client.post(BASE, headers=outsider.headers,
                                  json={"title": "x", "requirements": REQUIREMENTS,
                                        "organization_id": owner.organization_id})
    assert other_org.status_code == 404
    assert held == []
    still = await client.get(f"{BASE}/{aid}", headers=owner.headers)
    assert still.json()["title"] == created["title"]


async def test_viewer_reads_but_cannot_write(app, client, held):
    owner = await create_member(app)
    created = await create_assessment(client, owner)
    viewer = await create_member(app, role="viewer", organization_id=owner.organization_id)
    aid = created["id"]
    assert (await client.get(f"{BASE}/{aid}", headers=viewer.headers)).status_code == 200
    assert (await client.get(BASE, headers=viewer.headers)).json()["total"] == 1
    writes = [("POST", BASE, {"title": "x", "requirements": REQUIREMENTS}),
              ("POST", BASE, {"title": "x", "requirements": REQUIREMENTS,
                              "organization_id": owner.organization_id}),
              ("PATCH", f"{BASE}/{aid}", {"title": "x"}), ("DELETE", f"{BASE}/{aid}", None),
              ("POST", f"{BASE}/{aid}/run", None), ("POST", f"{BASE}/{aid}/cancel", None)]
    for method, url, body in writes:
        response = await client.request(method, url, headers=viewer.headers, json=body)
        assert response.status_code == 403, (method, url, response.text)
        assert response.json() == {"detail": "viewers cannot change assessments"}
    # what-if changes nothing, so a viewer may ask
    what_if = await client.post(f"{BASE}/{aid}/what-if", headers=viewer.headers,
                                json={"traffic_multiplier": 2})
    assert what_if.status_code == 200
    assert held == []


async def test_no_token_is_401(app, client):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    calls = [("GET", BASE), ("POST", BASE), ("GET", f"{BASE}/{aid}"),
             ("PATCH", f"{BASE}/{aid}"), ("DELETE", f"{BASE}/{aid}"),
             ("POST", f"{BASE}/{aid}/run"), ("POST", f"{BASE}/{aid}/cancel"),
             ("GET", f"{BASE}/{aid}/result"), ("GET", f"{BASE}/{aid}/events"),
             ("POST", f"{BASE}/{aid}/what-if")]
    for method, url in calls:
        response = await client.request(method, url, json={})
        assert response.status_code == 401, (method, url, response.text)
    bad = await client.get(BASE, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


async def test_idempotency_key_answers_with_the_same_run(app, client, enqueued):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    headers = {**owner.headers, "Idempotency-Key": "run-1"}
    first = await client.post(f"{BASE}/{aid}/run", headers=headers)
    second = await client.post(f"{BASE}/{aid}/run", headers=headers)
    assert first.status_code == second.status_code == 202
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["assessment"]["queued_at"] == first.json()["assessment"]["queued_at"]
    await wait_for_status(client, owner, aid)
    again = await client.post(f"{BASE}/{aid}/run", headers=headers)
    assert again.status_code == 202
    assert again.json()["assessment"]["status"] == "completed"  # the same run, not a new one
    assert enqueued == [aid]
    assert await count(app, IdempotencyKey.id, IdempotencyKey.key == "run-1") == 1

    other = (await create_assessment(client, owner))["id"]
    reused = await client.post(f"{BASE}/{other}/run", headers=headers)
    assert reused.status_code == 409
    fresh = await client.post(f"{BASE}/{aid}/run",
                              headers={**owner.headers, "Idempotency-Key": "run-2"})
    assert fresh.json()["assessment"]["status"] == "queued"
    await wait_for_status(client, owner, aid)
    assert enqueued == [aid, aid]
    result = await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
    assert result.json()["version"] == 2


async def test_same_requirements_in_flight_answer_with_that_run(app, client, held):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    first = await client.post(f"{BASE}/{aid}/run", headers=owner.headers)
    second = await client.post(f"{BASE}/{aid}/run", headers=owner.headers)
    assert second.status_code == 202
    assert second.json() == first.json()
    assert held == [aid]
    app.state.platform.settings.dedupe_window_s = 0  # an old run in flight is a conflict
    assert (await client.post(f"{BASE}/{aid}/run", headers=owner.headers)).status_code == 409
    assert held == [aid]


async def test_cancel(app, client, held):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    not_running = await client.post(f"{BASE}/{aid}/cancel", headers=owner.headers)
    assert not_running.status_code == 409
    await client.post(f"{BASE}/{aid}/run", headers=owner.headers)
    cancelled = await client.post(f"{BASE}/{aid}/cancel", headers=owner.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["finished_at"]
    # the message arrives late: the worker finds nothing to claim
    assert await tasks.run_assessment(aid) == "skipped"
    assert (await client.get(f"{BASE}/{aid}", headers=owner.headers)).json()["status"] \
        == "cancelled"
    # and it can run again
    rerun = await client.post(f"{BASE}/{aid}/run", headers=owner.headers)
    assert rerun.json()["assessment"]["status"] == "queued"
    assert held == [aid, aid]


async def test_patch(app, client, held):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    renamed = await client.patch(f"{BASE}/{aid}", headers=owner.headers,
                                 json={"title": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Renamed"
    bad = await client.patch(f"{BASE}/{aid}", headers=owner.headers,
                             json={"requirements": {"name": "x", "workloads": []}})
    assert bad.status_code == 422
    assert any(p.startswith("workloads: ") for p in bad.json()["problems"])

    await client.post(f"{BASE}/{aid}/run", headers=owner.headers)
    busy = await client.patch(f"{BASE}/{aid}", headers=owner.headers, json={"title": "Busy"})
    assert busy.status_code == 409
    await client.post(f"{BASE}/{aid}/cancel", headers=owner.headers)

    bigger = json.loads(json.dumps(REQUIREMENTS))
    bigger["workloads"][0]["peak_rps"] = 500
    changed = await client.patch(f"{BASE}/{aid}", headers=owner.headers,
                                 json={"requirements": bigger})
    assert changed.status_code == 200
    assert changed.json()["status"] == "draft"
    assert changed.json()["requirements"]["workloads"][0]["peak_rps"] == 500
    assert changed.json()["requirements_hash"] != renamed.json()["requirements_hash"]


async def test_delete_by_owner_admin_or_assessment_owner(app, client):
    owner = await create_member(app)
    org = owner.organization_id
    alice = await create_member(app, role="member", organization_id=org)
    bob = await create_member(app, role="member", organization_id=org)
    admin = await create_member(app, role="admin", organization_id=org)
    alices = [(await create_assessment(client, alice))["id"] for _ in range(3)]

    denied = await client.delete(f"{BASE}/{alices[0]}", headers=bob.headers)
    assert denied.status_code == 403
    for who, aid in ((alice, alices[0]), (admin, alices[1]), (owner, alices[2])):
        response = await client.delete(f"{BASE}/{aid}", headers=who.headers)
        assert response.status_code == 204, response.text
        assert (await client.get(f"{BASE}/{aid}", headers=owner.headers)).status_code == 404
    assert await count(app, AuditEvent.action, AuditEvent.action == "assessment.deleted") == 3


async def test_create_defaults_to_an_organization_where_the_caller_can_write(app, client):
    viewer_home = await create_member(app, role="viewer")
    elsewhere = await create_member(app)
    await add_membership(app, viewer_home, elsewhere.organization_id, "member")
    created = await create_assessment(client, viewer_home)
    assert created["organization_id"] == elsewhere.organization_id


async def test_write_rate_limit(app, client):
    app.state.platform.settings.write_rate_per_minute = 2
    owner = await create_member(app)
    await create_assessment(client, owner)
    await create_assessment(client, owner)
    limited = await client.post(BASE, headers=owner.headers,
                                json={"title": "x", "requirements": REQUIREMENTS})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert (await client.get(BASE, headers=owner.headers)).status_code == 200  # reads go on


async def test_what_if_reports_differences(app, client):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    fresh = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                              json={"traffic_multiplier": 2})
    assert fresh.status_code == 200, fresh.text

    await client.post(f"{BASE}/{aid}/run", headers=owner.headers)
    await wait_for_status(client, owner, aid)
    stored = (await client.get(f"{BASE}/{aid}/result", headers=owner.headers)).json()
    response = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                                 json={"traffic_multiplier": 2})
    assert response.status_code == 200
    body = response.json()
    cost = body["differences"]["monthly_cost_usd"]
    assert cost["before"] == stored["result"]["recommended"]["monthly_cost_usd"]
    assert cost["after"] >= cost["before"]
    assert cost["delta"] == pytest.approx(cost["after"] - cost["before"], abs=0.01)
    assert body["differences"]["recommended"]["before"]["provider"] \
        == stored["result"]["recommended"]["provider"]
    assert body["result"]["requirements"]["workloads"][0]["peak_rps"] == 120
    assert body == fresh.json()  # before is the same whether stored or computed afresh

    only_gcp = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                                 json={"providers": ["gcp"], "commitment": "1y"})
    assert only_gcp.json()["differences"]["recommended"]["after"]["provider"] == "gcp"
    # the settings a budget lever changes
    levers = {"managed_services": False, "spot_ok": True, "kubernetes": "avoid",
              "allow_arm": True}
    changed = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers, json=levers)
    assert changed.status_code == 200, changed.text
    preferences = changed.json()["result"]["requirements"]["preferences"]
    assert {k: preferences[k] for k in levers} == levers
    # the frameworks that apply (a hosted payment page's lever takes PCI DSS away)
    frameworks = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                                   json={"compliance": ["pci_dss", "gdpr"]})
    assert frameworks.status_code == 200, frameworks.text
    assert frameworks.json()["result"]["requirements"]["compliance"] == ["pci_dss", "gdpr"]
    for bad in ({"traffic_multiplier": 0}, {"traffic_multiplier": 101},
                {"availability_target": 42}, {"providers": []}, {"colour": "red"},
                {"managed_services": "no"}, {"spot_ok": 1}, {"kubernetes": "maybe"},
                {"compliance": ["sox"]}, {"compliance": ["gdpr", "gdpr"]}):
        response = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                                      json=bad)
        assert response.status_code == 422, bad
    # nothing was saved
    assert (await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
            ).json()["version"] == 1


async def test_what_if_weighs_the_users_by_other_shares(app, client):
    """"What if 60% of our users were in the EU?": a what-if gives the users' shares (or
    other places) without saving them."""
    owner = await create_member(app)
    lingo = {"name": "language app", "users": ["us", "eu", "JP", "KR"],
             "user_shares": {"us": 40, "eu": 35, "JP": 15, "KR": 10},
             "workloads": [{"name": "api", "type": "web_service", "peak_rps": 400},
                           {"name": "db", "type": "database", "storage_gb": 200}]}
    aid = (await create_assessment(client, owner, requirements=lingo))["id"]

    async def what_if(changes):
        return await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers, json=changes)

    def group(body):
        chosen = body["result"]["recommended"]
        return region(chosen["provider"], chosen["region"]).group

    europe = await what_if({"user_shares": {"us": 20, "eu": 60, "jp": 10, "KR": 10}})
    assert europe.status_code == 200, europe.text
    assert europe.json()["result"]["region_choice"]["user_shares"] == {
        "us": 20, "eu": 60, "JP": 10, "KR": 10}
    assert group(europe.json()) in ("eu", "uk")
    assert group((await what_if({"traffic_multiplier": 1.5})).json()) == "us"
    # no shares: every place counts the same, and Tokyo is near two of the four
    counted = (await what_if({"user_shares": {}})).json()
    assert counted["result"]["region_choice"]["user_shares"] == {}
    assert counted["result"]["recommended"]["region"] in {
        r.code for r in REGIONS.values() if r.country in ("JP", "KR")}
    # other places: the stored shares do not fit them and are not used ...
    two = (await what_if({"users": ["us", "eu"]})).json()
    assert two["result"]["requirements"]["users"] == ["us", "eu"]
    assert two["result"]["region_choice"]["user_shares"] == {}
    # ... unless the what-if gives shares for them; shares that do not fit are refused
    weighed = await what_if({"users": ["us", "eu"], "user_shares": {"us": 70, "eu": 30}})
    assert group(weighed.json()) == "us"
    refused = await what_if({"user_shares": {"us": 50, "eu": 50}})
    assert refused.status_code == 422
    assert "user_shares: gives no share to JP, KR" in refused.text
    # nothing was saved
    stored = (await client.get(f"{BASE}/{aid}", headers=owner.headers)).json()
    assert stored["requirements"]["user_shares"] == lingo["user_shares"]


async def test_events_stream_statuses_until_terminal(app, client):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    await client.post(f"{BASE}/{aid}/run", headers=owner.headers)
    response = await asyncio.wait_for(
        client.get(f"{BASE}/{aid}/events", headers=owner.headers), timeout=20)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block for block in response.text.split("\n\n") if block.strip()]
    statuses = []
    for block in events:
        lines = block.splitlines()
        assert lines[0] == "event: status"
        statuses.append(json.loads(lines[1].removeprefix("data: ")))
    assert set(statuses[0]) == {"status", "progress", "current_step", "error"}
    assert statuses[-1] == {"status": "completed", "progress": 100, "current_step": None,
                            "error": None}
    progress = [s["progress"] for s in statuses]
    assert progress == sorted(progress)
    assert len(statuses) == len({json.dumps(s, sort_keys=True) for s in statuses})

    # a finished assessment: one event, then the stream ends
    again = await client.get(f"{BASE}/{aid}/events", headers=owner.headers)
    assert again.text.count("event: status") == 1


async def test_openapi_documents_the_routes(app, client):
    spec = (await client.get("/openapi.json")).json()
    run = spec["paths"]["/api/v1/assessments/{assessment_id}/run"]["post"]
    assert {"202", "401", "403", "404", "409", "429"} <= set(run["responses"])
    create = spec["paths"]["/api/v1/assessments"]["post"]
    assert "422" in create["responses"]


async def test_run_is_enqueued_only_after_commit(app, client, monkeypatch):
    """When the job is sent, another connection already sees the row queued."""
    seen: list[str | None] = []

    async def look(assessment_id: str) -> None:
        async with app.state.platform.sessions() as session:
            seen.append(await session.scalar(select(Assessment.status)
                                              .where(Assessment.id == assessment_id)))

    monkeypatch.setattr(queue.runs, "send", look)
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    assert (await client.post(f"{BASE}/{aid}/run", headers=owner.headers)).status_code == 202
    assert seen == ["queued"]


async def test_event_stream_sends_heartbeats_between_changes(monkeypatch):
    from infra_mind.api import assessments as endpoints

    async def changes():
        yield {"status": "running", "progress": 20, "current_step": "x", "error": None}
        yield None
        yield None

    monkeypatch.setattr(endpoints, "HEARTBEAT_S", 0.0)
    sent = [chunk async for chunk in endpoints._sse(changes())]
    assert sent[0].startswith("event: status\ndata: {")
    assert sent[1:] == [": heartbeat\n\n", ": heartbeat\n\n"]
