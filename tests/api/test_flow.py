"""One user's whole journey, through HTTP only, on SQLite and on PostgreSQL.

register -> login -> create (examples/saas-startup.yaml) -> run -> poll until completed
-> result -> event stream -> what-if (traffic x2) -> list -> refresh -> logout. The run
goes through the in-process task broker, as in a single-process deployment.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAAS: dict[str, Any] = yaml.safe_load((EXAMPLES / "saas-startup.yaml").read_text())
AUTH = "/api/v1/auth"
BASE = "/api/v1/assessments"
EMAIL = "founder@example.com"
PASSWORD = "a long enough passphrase"
POLL_TIMEOUT_S = 30.0


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def poll_until_finished(client: httpx.AsyncClient, headers: dict[str, str],
                              aid: str) -> dict[str, Any]:
    deadline = time.monotonic() + POLL_TIMEOUT_S
    seen: list[str] = []
    while True:
        response = await client.get(f"{BASE}/{aid}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in ("completed", "failed", "cancelled"):
            assert body["status"] == "completed", (seen, body["error"])
            return body
        assert time.monotonic() < deadline, f"statuses {seen} after {POLL_TIMEOUT_S} s"
        await asyncio.sleep(0.05)


def sse_statuses(text: str) -> list[dict[str, Any]]:
    statuses = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        if not lines:
            continue
        assert lines[0] == "event: status", block
        statuses.append(json.loads(lines[1].removeprefix("data: ")))
    return statuses


async def test_register_to_what_if(client):
    # register: an account, its organization, owner of it
    registered = await client.post(f"{AUTH}/register", json={
        "email": EMAIL, "password": PASSWORD, "full_name": "Grace Founder"})
    # 202: the same answer for a new and a taken email; the account is seen once signed in
    assert registered.status_code == 202, registered.text

    # login
    login = await client.post(f"{AUTH}/login", json={"email": EMAIL, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
    headers = bearer(tokens["access_token"])
    me = await client.get(f"{AUTH}/me", headers=headers)
    assert me.status_code == 200
    user = me.json()
    [organization] = user["organizations"]
    assert organization["role"] == "owner"

    # create, from the SaaS example
    created = await client.post(BASE, headers=headers,
                                json={"title": "SaaS launch", "requirements": SAAS})
    assert created.status_code == 201, created.text
    assessment = created.json()
    aid = assessment["id"]
    assert assessment["status"] == "draft"
    assert assessment["organization_id"] == organization["id"]
    assert assessment["owner_id"] == user["id"]
    assert assessment["requirements"] == SAAS

    # run, then poll until it is done
    run = await client.post(f"{BASE}/{aid}/run", headers=headers)
    assert run.status_code == 202, run.text
    assert run.json()["assessment"]["status"] in ("queued", "running", "completed")
    done = await poll_until_finished(client, headers, aid)
    assert done["progress"] == 100 and done["error"] is None
    assert done["started_at"] and done["finished_at"]

    # the result
    response = await client.get(f"{BASE}/{aid}/result", headers=headers)
    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["assessment_id"] == aid and stored["version"] == 1
    result = stored["result"]
    assert result["recommended"]["provider"] in ("aws", "azure", "gcp")
    assert result["recommended"]["monthly_cost_usd"] > 0
    assert result["options"]
    for option in result["options"]:
        assert option["line_items"], option.get("provider")
    assert stored["catalog_as_of"] == result["catalog_as_of"]

    # the event stream of a finished run: its terminal status, then the end
    events = await asyncio.wait_for(client.get(f"{BASE}/{aid}/events", headers=headers),
                                    timeout=10)
    assert events.status_code == 200
    assert events.headers["content-type"].startswith("text/event-stream")
    statuses = sse_statuses(events.text)
    assert statuses[-1] == {"status": "completed", "progress": 100, "current_step": None,
                            "error": None}

    # what-if: twice the traffic, nothing saved
    what_if = await client.post(f"{BASE}/{aid}/what-if", headers=headers,
                                json={"traffic_multiplier": 2})
    assert what_if.status_code == 200, what_if.text
    differences = what_if.json()["differences"]
    cost = differences["monthly_cost_usd"]
    assert cost["before"] == result["recommended"]["monthly_cost_usd"]
    assert cost["after"] >= cost["before"]
    web = next(w for w in what_if.json()["result"]["requirements"]["workloads"]
               if w["name"] == "web-api")
    assert web["peak_rps"] == 240
    again = await client.get(f"{BASE}/{aid}/result", headers=headers)
    assert again.json()["version"] == 1

    # the list shows it, completed
    page = await client.get(BASE, headers=headers)
    assert page.status_code == 200
    assert page.json()["total"] == 1
    [item] = page.json()["items"]
    assert (item["id"], item["status"], item["title"]) == (aid, "completed", "SaaS launch")

    # refresh: a new pair; the old refresh token is used up
    refreshed = await client.post(f"{AUTH}/refresh",
                                  json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    rotated = refreshed.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    headers = bearer(rotated["access_token"])
    assert (await client.get(f"{BASE}/{aid}", headers=headers)).status_code == 200

    # logout: the refresh token stops working, and so does the access token of that session
    logout = await client.post(f"{AUTH}/logout", headers=headers,
                               json={"refresh_token": rotated["refresh_token"]})
    assert logout.status_code == 204, logout.text
    after = await client.post(f"{AUTH}/refresh",
                              json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401
    assert (await client.get(f"{AUTH}/me", headers=headers)).status_code == 401
    assert (await client.get(BASE, headers={})).status_code == 401
