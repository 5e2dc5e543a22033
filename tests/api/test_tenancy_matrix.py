"""Who may call what: every route of the OpenAPI schema against every kind of caller.

``MATRIX`` holds one row per (method, path) of ``app.openapi()`` except the public
routes (health probes, register, login, refresh). ``test_matrix_covers_every_route``
fails when a route is added without a row, so a new endpoint cannot ship untested.

Each row is run, on SQLite and on PostgreSQL, by seven callers against an assessment of
organization A (a fresh one per caller, created by A's owner):

* ``anonymous`` (no token) and ``forged`` (a token for A's owner signed with another
  key): 401 everywhere;
* ``outsider`` (owner of organization B): 404 "not found" on every route about an
  object of A, never 403 and never 200; tenantless routes (catalog, own account)
  answer as for anyone, and show nothing of A;
* ``viewer`` of A: 403 on writes, the allowed status on reads;
* ``member``, ``admin``, ``owner`` of A: the allowed status (``Route.ok``), unless the
  row documents an exception for the role (``Route.roles``).

Chat rows marked ``Route.conversation`` call a conversation that A's owner started about
the assessment just before: a conversation is its creator's alone, so every other caller
gets 404 "conversation not found" (``OWNER_ONLY``), and only an allowed call changes it.

A refused call (401, 403, 404) must leave the assessment exactly as it was; an allowed
one must have its effect. Runs are held (``assessment.run`` is not delivered): a row
that needs a finished run runs the task in the test, so no job runs in the background.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from infra_mind.api.app import create_app
from infra_mind.config import load_settings
from infra_mind.kit.security import issue_token
from infra_mind.worker import tasks
from tests.api.helpers import Member, create_member

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STATIC_SITE: dict[str, Any] = yaml.safe_load((EXAMPLES / "static-site.yaml").read_text())
BASE = "/api/v1/assessments"
ONE = f"{BASE}/{{assessment_id}}"
TITLE = "Org A confidential plan"
CHAT = "/api/v1/chat/conversations"
CONVERSATION = f"{CHAT}/{{conversation_id}}"
ORG_SECRETS = "/api/v1/organizations/{organization_id}/secrets"
ORG_MEMBERS = "/api/v1/organizations/{organization_id}/members"
ADMIN = "/api/v1/admin"
SECRET_VALUE = "sk-matrix-" + "s3cr3t" * 6

#: Routes anyone may call without a token (probes, and how one gets a token). A browser
#: session's routes take its cookie instead (tests/api/test_browser_session.py).
PUBLIC = {("GET", "/health"), ("GET", "/health/ready"), ("GET", "/metrics"),
          ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"),
          ("POST", "/api/v1/auth/refresh"), ("POST", "/api/v1/auth/browser/login"),
          ("POST", "/api/v1/auth/browser/refresh"), ("POST", "/api/v1/auth/browser/logout")}

CALLERS = ("anonymous", "forged", "viewer", "member", "admin", "owner", "outsider")
IN_ORG_A = ("viewer", "member", "admin", "owner")

#: ``Route.kind``: what the route is about.
OBJECT = "object"  # an assessment of A, or A itself (create in A): outsiders get 404
COLLECTION = "collection"  # the caller's own organizations' assessments: outsiders see none
TENANTLESS = "tenantless"  # the price catalog, the caller's own account


@dataclass
class Ctx:
    """What one call is about: organization A, its assessment (before the call)."""

    org_a: str
    assessment: dict[str, Any]
    #: A's owner's conversation about the assessment, with its messages (``Route.conversation``)
    conversation: dict[str, Any] | None = None

    @property
    def assessment_id(self) -> str:
        return self.assessment["id"]

    @property
    def conversation_id(self) -> str:
        return self.conversation["id"] if self.conversation else ""


@dataclass(frozen=True)
class Route:
    kind: str
    ok: int  # what member, admin and owner of A get
    write: bool = False  # viewers get 403
    state: str = "draft"  # the assessment's state before the call: draft | queued | completed
    path_params: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    body: Callable[[Ctx], Any] | None = None
    #: documented per-role exceptions to ``ok`` (role -> status)
    roles: dict[str, int] = field(default_factory=dict)
    #: the 404 body an outsider gets on an OBJECT route
    not_found: str = "assessment not found"
    note: str = ""
    #: A's owner starts a conversation about the assessment before the call
    conversation: bool = False


#: A conversation is its creator's alone (A's owner started the one these rows call).
OWNER_ONLY = {"viewer": 404, "member": 404, "admin": 404}
#: An organization's secrets are its owners' and admins' alone.
MANAGERS_ONLY = {"viewer": 404, "member": 404}
#: The admin routes are platform admins' alone (none of these callers; test_admin has one).
PLATFORM_ADMINS_ONLY = {"viewer": 404, "member": 404, "admin": 404, "owner": 404}


def _static_site_cheaper(ctx: Ctx) -> dict[str, Any]:
    changed = copy.deepcopy(STATIC_SITE)
    changed["business"]["monthly_budget_usd"] = 60
    return {"title": "Renamed", "requirements": changed}


MATRIX: dict[tuple[str, str], Route] = {
    ("GET", "/api/v1/catalog/prices/{provider}/{sku}"): Route(
        TENANTLESS, 200, path_params={"provider": "aws", "sku": "m5.large"},
        params={"region": "us-east-1"}),
    ("GET", "/api/v1/catalog/search"): Route(
        TENANTLESS, 200, params={"provider": "aws", "region": "us-east-1", "min_vcpu": 2}),
    ("POST", "/api/v1/catalog/compare"): Route(
        TENANTLESS, 200, body=lambda ctx: {"items": [
            {"provider": "aws", "sku": "m5.large", "region": "us-east-1"},
            {"provider": "azure", "sku": "Standard_D2s_v5", "region": "eastus"}]},
        note="a POST that changes nothing: viewers may compare"),
    ("POST", "/api/v1/auth/logout"): Route(
        TENANTLESS, 204, note="signs the caller out of their own sessions (not an org write)"),
    ("GET", "/api/v1/auth/me"): Route(TENANTLESS, 200),
    ("POST", BASE): Route(
        OBJECT, 201, write=True, not_found="organization not found",
        body=lambda ctx: {"title": "New in A", "requirements": STATIC_SITE,
                          "organization_id": ctx.org_a},
        note="creates in organization A (named in the body)"),
    ("GET", BASE): Route(COLLECTION, 200, params={"limit": 100}),
    ("GET", ONE): Route(OBJECT, 200),
    ("PATCH", ONE): Route(OBJECT, 200, write=True, body=_static_site_cheaper),
    ("DELETE", ONE): Route(
        OBJECT, 204, write=True, roles={"member": 403},
        note="a member may delete only their own assessments (A's owner created this one); "
             "test_member_deletes_own_assessment covers that"),
    ("POST", f"{ONE}/run"): Route(OBJECT, 202, write=True),
    ("POST", f"{ONE}/cancel"): Route(OBJECT, 200, write=True, state="queued"),
    ("GET", f"{ONE}/result"): Route(OBJECT, 200, state="completed",
                                    note="404 'no result yet' before a run completes"),
    ("GET", f"{ONE}/reports/{{kind}}"): Route(
        OBJECT, 200, state="completed", path_params={"kind": "executive"},
        params={"format": "html"}, note="the latest result's report; 404 before one"),
    ("GET", f"{ONE}/events"): Route(OBJECT, 200, state="completed",
                                    note="a finished run: one event, then the stream ends"),
    ("POST", f"{ONE}/what-if"): Route(
        OBJECT, 200, body=lambda ctx: {"traffic_multiplier": 2},
        note="changes nothing, so viewers may ask (documented on the endpoint)"),
    ("POST", CHAT): Route(
        OBJECT, 201, body=lambda ctx: {"assessment_id": ctx.assessment_id},
        note="a conversation about A's assessment: reading it is enough, so viewers may"),
    ("GET", CHAT): Route(COLLECTION, 200, conversation=True,
                         note="the caller's own conversations: only A's owner has one"),
    ("GET", CONVERSATION): Route(OBJECT, 200, conversation=True, roles=OWNER_ONLY,
                                 not_found="conversation not found"),
    ("DELETE", CONVERSATION): Route(OBJECT, 204, conversation=True, roles=OWNER_ONLY,
                                    not_found="conversation not found"),
    ("POST", f"{CONVERSATION}/messages"): Route(
        OBJECT, 201, state="completed", conversation=True, roles=OWNER_ONLY,
        not_found="conversation not found", body=lambda ctx: {"content": "What does it cost?"},
        note="answered from the assessment's result"),
    ("POST", f"{CONVERSATION}/messages/stream"): Route(
        OBJECT, 200, state="completed", conversation=True, roles=OWNER_ONLY,
        not_found="conversation not found", body=lambda ctx: {"content": "What does it cost?"}),
    ("GET", ORG_MEMBERS): Route(
        OBJECT, 200, not_found="organization not found",
        note="any member of A may see who belongs to it, viewers included"),
    ("GET", ORG_SECRETS): Route(
        OBJECT, 200, roles=MANAGERS_ONLY, not_found="organization not found",
        note="names, times and masked hints; members and viewers get 404 like outsiders"),
    ("PUT", f"{ORG_SECRETS}/{{name}}"): Route(
        OBJECT, 200, roles=MANAGERS_ONLY, not_found="organization not found",
        path_params={"name": "openai_api_key"}, body=lambda ctx: {"value": SECRET_VALUE},
        note="not write=True: a viewer gets 404 (the secrets are not there for them), not 403"),
    ("DELETE", f"{ORG_SECRETS}/{{name}}"): Route(
        OBJECT, 204, roles=MANAGERS_ONLY, not_found="organization not found",
        path_params={"name": "openai_api_key"}, note="204 whether or not it was set"),
    **{("GET", f"{ADMIN}/{view}"): Route(
        OBJECT, 404, roles=PLATFORM_ADMINS_ONLY, not_found="not found",
        note="platform admins only: every signed-in caller here gets 404")
       for view in ("status", "queue", "stuck", "audit", "failed-logins")},
}


def expected(route: Route, caller: str) -> int:
    if caller in ("anonymous", "forged"):
        return 401
    if caller == "outsider":
        return 404 if route.kind == OBJECT else route.ok
    if caller == "viewer" and route.write:
        return 403
    return route.roles.get(caller, route.ok)


def _openapi_routes() -> dict[tuple[str, str], dict[str, Any]]:
    settings = load_settings(environment="test", database_url="sqlite+aiosqlite:///:memory:",
                             redis_url=None, jwt_secret_key="t" * 48)
    spec = create_app(settings).openapi()
    return {(method.upper(), path): operation for path, operations in spec["paths"].items()
            for method, operation in operations.items()}


def test_matrix_covers_every_route():
    """A route added to the API without a row here fails this test (and the reverse)."""
    routes = set(_openapi_routes()) - PUBLIC
    assert set(MATRIX) == routes, (
        f"routes without a matrix row: {sorted(routes - set(MATRIX))}; "
        f"rows without a route: {sorted(set(MATRIX) - routes)}")


def test_every_expected_status_is_documented():
    """Each status the matrix expects is one the route's OpenAPI entry declares."""
    operations = _openapi_routes()
    for key, route in MATRIX.items():
        documented = set(operations[key]["responses"])
        for caller in CALLERS:
            assert str(expected(route, caller)) in documented, (key, caller, documented)




@dataclass
class World:
    owner: Member
    members: dict[str, Member]  # caller -> member (tokenless callers excluded)
    headers: dict[str, dict[str, str]]  # caller -> request headers


async def _world(app) -> World:
    owner = await create_member(app)
    org_a = owner.organization_id
    members = {"owner": owner}
    for role in ("viewer", "member", "admin"):
        members[role] = await create_member(app, role=role, organization_id=org_a)
    members["outsider"] = await create_member(app)  # the owner of organization B
    forged, _ = issue_token("f" * 48, subject=owner.user_id, kind="access", ttl_s=600)
    headers = {name: m.headers for name, m in members.items()}
    headers["anonymous"] = {}
    headers["forged"] = {"Authorization": f"Bearer {forged}"}
    return World(owner=owner, members=members, headers=headers)


def _signed_in_again(app, world: World, caller: str) -> World:
    """The world with a fresh access token for ``caller``, after signing out everywhere
    refused every token they held."""
    settings = app.state.platform.settings
    member = world.members[caller]
    token, _ = issue_token(settings.secret(), subject=member.user_id, kind="access",
                           ttl_s=settings.access_token_ttl_s)
    again = dataclasses.replace(member, token=token)
    return World(owner=again if member == world.owner else world.owner,
                 members={**world.members, caller: again},
                 headers={**world.headers, caller: again.headers})


async def _prepare(client: httpx.AsyncClient, world: World, state: str) -> dict[str, Any]:
    """A fresh assessment of A, created by A's owner, in ``state``."""
    headers = world.owner.headers
    created = await client.post(BASE, headers=headers,
                                json={"title": TITLE, "requirements": STATIC_SITE})
    assert created.status_code == 201, created.text
    aid = created.json()["id"]
    if state in ("queued", "completed"):
        run = await client.post(f"{BASE}/{aid}/run", headers=headers)
        assert run.status_code == 202, run.text
    if state == "completed":
        assert await tasks.run_assessment(aid) == "completed"
    current = await client.get(f"{BASE}/{aid}", headers=headers)
    assert current.json()["status"] == state
    return current.json()


async def _call(client: httpx.AsyncClient, method: str, path: str, route: Route, ctx: Ctx,
                headers: dict[str, str]) -> httpx.Response:
    url = path.format(assessment_id=ctx.assessment_id, conversation_id=ctx.conversation_id,
                      organization_id=ctx.org_a, **route.path_params)
    kwargs: dict[str, Any] = {"headers": headers, "params": route.params}
    if route.body is not None:
        kwargs["json"] = route.body(ctx)
    # a stream that never ended would hang the suite: bound every call
    return await asyncio.wait_for(client.request(method, url, **kwargs), timeout=20)


async def _org_a_total(client: httpx.AsyncClient, world: World) -> int:
    page = await client.get(BASE, headers=world.owner.headers, params={"limit": 1})
    return page.json()["total"]


def _check_effect(method: str, path: str, ctx: Ctx, response: httpx.Response,
                  after: httpx.Response) -> None:
    """An allowed call did what it says."""
    before = ctx.assessment
    # chat (see _check_conversation) and an organization's secrets and members never
    # change it
    if path.startswith((CHAT, ORG_SECRETS, ORG_MEMBERS)):
        assert after.json() == before
        return
    if method == "DELETE":
        assert after.status_code == 404, after.text
        return
    assert after.status_code == 200, after.text
    now = after.json()
    if method == "PATCH":
        assert now["title"] == "Renamed"
        assert now["requirements"]["business"]["monthly_budget_usd"] == 60
    elif path.endswith("/run"):
        assert response.json()["assessment"]["id"] == ctx.assessment_id
        assert now["status"] == "queued"
    elif path.endswith("/cancel"):
        assert response.json()["status"] == now["status"] == "cancelled"
    else:  # reads and what-if change nothing
        assert now == before


def _check_body(method: str, path: str, route: Route, caller: str, ctx: Ctx,
                response: httpx.Response) -> None:
    """What the response says, and never says."""
    if caller == "outsider":
        # nothing of A reaches B: not the title, not the id, not the organization
        for secret in (TITLE, ctx.assessment_id, ctx.org_a):
            assert secret not in response.text, (method, path, secret)
    status = response.status_code
    assert SECRET_VALUE not in response.text  # a secret's value never comes back
    if status == 404:
        assert response.json() == {"detail": route.not_found}
    elif status == 403:
        assert response.json() == {"detail": "viewers cannot change assessments"
                                   if caller == "viewer" else
                                   "only the assessment's owner or an organization owner "
                                   "or admin can delete it"}
    elif status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    elif (method, path) == ("GET", BASE):
        ids = [item["id"] for item in response.json()["items"]]
        if caller == "outsider":
            assert response.json()["total"] == 0 and ids == []
        else:
            assert ctx.assessment_id in ids
    elif path == ORG_MEMBERS:  # A's four members, each once, with their role
        members = response.json()["items"]
        assert sorted(m["role"] for m in members) == ["admin", "member", "owner", "viewer"]
        assert len({m["user_id"] for m in members}) == 4
    elif (method, path) == ("GET", "/api/v1/auth/me"):
        organizations = [o["id"] for o in response.json()["organizations"]]
        assert (ctx.org_a in organizations) == (caller != "outsider")
    elif path == ONE and method == "GET":
        assert response.json()["id"] == ctx.assessment_id
    elif path.endswith("/result"):
        body = response.json()
        assert body["assessment_id"] == ctx.assessment_id and body["version"] == 1
        assert body["result"]["recommended"]["provider"] == "aws"
    elif path.endswith("/reports/{kind}"):
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert STATIC_SITE["name"] in response.text
    elif path.endswith("/events"):
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.text.count("event: status") == 1
        assert '"status": "completed"' in response.text
    elif path.endswith("/what-if"):
        assert response.json()["differences"]["monthly_cost_usd"]["before"] is not None
    elif (method, path) == ("POST", CHAT):
        assert response.json()["assessment_id"] == ctx.assessment_id
    elif (method, path) == ("GET", CHAT):
        ids = [item["id"] for item in response.json()["items"]]
        # A's owner started one before each caller's call; nobody else has any
        assert (ctx.conversation_id in ids) if caller == "owner" else ids == [], caller
    elif path == CONVERSATION and method == "GET":
        assert response.json()["id"] == ctx.conversation_id
    elif path.endswith("/messages"):  # answered from A's result: it cites its facts
        assert response.json()["assistant_message"]["citations"][0]["kind"] == "fact"
    elif path.endswith("/messages/stream"):
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.text.startswith("event: message") and "event: done" in response.text


async def _start_conversation(client: httpx.AsyncClient, world: World,
                              ctx: Ctx) -> dict[str, Any]:
    """A's owner's conversation about the assessment, read back (with its messages)."""
    started = await client.post(CHAT, headers=world.owner.headers,
                                json={"assessment_id": ctx.assessment_id})
    assert started.status_code == 201, started.text
    read = await client.get(f"{CHAT}/{started.json()['id']}", headers=world.owner.headers)
    return read.json()


async def _check_conversation(client: httpx.AsyncClient, world: World, method: str,
                              ctx: Ctx, response: httpx.Response) -> None:
    """The conversation changed only when the call was allowed, and as it says."""
    now = await client.get(f"{CHAT}/{ctx.conversation_id}", headers=world.owner.headers)
    if method == "DELETE" and response.status_code == 204:
        assert now.status_code == 404, now.text
        return
    assert now.status_code == 200, now.text
    assert ctx.conversation is not None
    added = len(now.json()["messages"]) - len(ctx.conversation["messages"])
    assert added == (2 if method == "POST" and response.status_code in (200, 201) else 0)


@pytest.mark.parametrize("key", list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
async def test_route_by_caller(app, client, held, key):
    method, path = key
    route = MATRIX[key]
    world = await _world(app)
    outcomes: dict[str, tuple[int, int]] = {}
    for caller in CALLERS:
        ctx = Ctx(org_a=world.owner.organization_id,
                  assessment=await _prepare(client, world, route.state))
        if route.conversation:
            ctx.conversation = await _start_conversation(client, world, ctx)
        total_before = await _org_a_total(client, world)
        response = await _call(client, method, path, route, ctx, world.headers[caller])
        outcomes[caller] = (response.status_code, expected(route, caller))
        if (method, path) == ("POST", "/api/v1/auth/logout") and response.status_code == 204:
            world = _signed_in_again(app, world, caller)  # logout revoked their tokens
        if response.status_code != expected(route, caller):
            continue  # reported below, with every caller's outcome
        _check_body(method, path, route, caller, ctx, response)
        after = await client.get(f"{BASE}/{ctx.assessment_id}", headers=world.owner.headers)
        if response.status_code in (401, 403, 404):
            # refused: nothing changed, nothing was created, no run was sent
            assert after.status_code == 200 and after.json() == ctx.assessment, caller
            assert await _org_a_total(client, world) == total_before, caller
        elif route.kind == OBJECT and path != BASE:
            _check_effect(method, path, ctx, response, after)
        elif (method, path) == ("POST", BASE):
            assert response.json()["organization_id"] == ctx.org_a
            assert await _org_a_total(client, world) == total_before + 1
        if ctx.conversation is not None:
            await _check_conversation(client, world, method, ctx, response)
    wrong = {c: got for c, (got, want) in outcomes.items() if got != want}
    assert not wrong, f"{method} {path}: got {wrong}; expected " \
                      f"{ {c: want for c, (_, want) in outcomes.items()} }"
    # only the run route, called by a writer, sends a job (and one each)
    runs_by_setup = (len(CALLERS) if route.state in ("queued", "completed") else 0)
    runs_by_callers = sum(1 for c in CALLERS
                          if path.endswith("/run") and expected(route, c) == 202)
    assert len(held) == runs_by_setup + runs_by_callers


async def test_member_deletes_own_assessment(app, client, held):
    """The exception in the DELETE row: a member may delete what they created."""
    owner = await create_member(app)
    member = await create_member(app, role="member", organization_id=owner.organization_id)
    created = await client.post(BASE, headers=member.headers,
                                json={"title": "mine", "requirements": STATIC_SITE})
    assert created.status_code == 201, created.text
    aid = created.json()["id"]
    assert (await client.delete(f"{BASE}/{aid}", headers=member.headers)).status_code == 204
    assert (await client.get(f"{BASE}/{aid}", headers=owner.headers)).status_code == 404


async def test_outsider_cannot_guess_ids(app, client, held):
    """An id that exists nowhere and one that exists in A answer B the same way."""
    owner = await create_member(app)
    outsider = await create_member(app)
    real = (await client.post(BASE, headers=owner.headers,
                              json={"title": TITLE, "requirements": STATIC_SITE})).json()["id"]
    for aid in (real, str(uuid.uuid4())):
        response = await client.get(f"{BASE}/{aid}", headers=outsider.headers)
        assert (response.status_code, response.json()) == (404,
                                                           {"detail": "assessment not found"})
