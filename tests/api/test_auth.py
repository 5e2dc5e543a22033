"""Authentication API: registration, sign-in and its throttle, token rotation, sign-out.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from infra_mind.config import load_settings
from infra_mind.kit.security import issue_token
from infra_mind.models import AuditEvent, RefreshToken
from tests.platform_fixtures import CHEAP_HASHING

LOGIN_ATTEMPTS = 3
ADDRESS_ATTEMPTS = 5
PASSWORD = "correct horse battery"


@pytest.fixture()
def settings(database_url):
    """The suite's settings with a small login throttle, so a delay takes a few requests."""
    return load_settings(environment="test", database_url=database_url, redis_url=None,
                         jwt_secret_key="t" * 48, login_attempts=LOGIN_ATTEMPTS,
                         login_address_attempts=ADDRESS_ATTEMPTS, login_window_s=60,
                         **CHEAP_HASHING)


def client_at(app, address: str) -> httpx.AsyncClient:
    """A client whose requests come from ``address`` (what ``request.client.host`` says)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url="http://test")


async def register(client, email: str = "ada@example.com", password: str = PASSWORD,
                   full_name: str = "Ada Lovelace") -> None:
    """Register (202, the same answer for a new and a taken email: no account data)."""
    response = await client.post("/api/v1/auth/register",
                                 json={"email": email, "password": password,
                                       "full_name": full_name})
    assert response.status_code == 202, response.text


async def registered_user(client, email: str = "ada@example.com", password: str = PASSWORD,
                          full_name: str = "Ada Lovelace") -> dict:
    """Register, then sign in: the user as ``/auth/me`` shows it."""
    await register(client, email, password, full_name)
    pair = (await login(client, email, password)).json()
    me = await client.get("/api/v1/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200, me.text
    return me.json()


async def login(client, email: str = "ada@example.com",
                password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def tokens(client, email: str = "ada@example.com") -> dict:
    response = await login(client, email)
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refresh(client, refresh_token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


async def audit_events(app) -> list[AuditEvent]:
    async with app.state.platform.sessions() as session:
        rows = await session.execute(select(AuditEvent).order_by(AuditEvent.created_at))
        return list(rows.scalars())


# registration, sign-in, the current user


async def test_register_login_me(client, settings):
    user = await registered_user(client, email="  Ada@Example.COM ")
    assert user["email"] == "ada@example.com"
    assert user["full_name"] == "Ada Lovelace"
    [org] = user["organizations"]
    assert org["name"] == "Ada Lovelace's organization" and org["role"] == "owner"

    pair = await tokens(client, email="ADA@example.com")
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == settings.access_token_ttl_s
    assert pair["access_token"] != pair["refresh_token"]

    me = await client.get("/api/v1/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert me.json() == user


async def test_taken_email_answers_like_a_new_one_and_changes_nothing(app, client):
    ada = await registered_user(client, email="ada@example.com")
    new = await client.post("/api/v1/auth/register",
                            json={"email": "grace@example.com", "password": "another pass 42",
                                  "full_name": "Grace Hopper"})
    taken = await client.post("/api/v1/auth/register",
                              json={"email": "ADA@Example.com", "password": "another pass 42",
                                    "full_name": "Someone Else"})
    assert new.status_code == taken.status_code == 202
    assert new.json() == taken.json()
    assert new.headers.keys() - {"x-request-id", "content-length"} == \
        taken.headers.keys() - {"x-request-id", "content-length"}
    # the account keeps its password and its name; the attempt is on record
    assert (await login(client, "ada@example.com", "another pass 42")).status_code == 401
    pair = await tokens(client)
    me = await client.get("/api/v1/auth/me", headers=bearer(pair["access_token"]))
    assert me.json() == ada
    [attempt] = [e for e in await audit_events(app) if e.action == "user.register_existing"]
    assert attempt.object_id == ada["id"] and attempt.client_address == "127.0.0.1"
    assert "another pass 42" not in json.dumps(attempt.detail)


@pytest.mark.parametrize(("field", "value"), [
    ("password", "short-pw"),
    ("password", "p" * 129),
    ("email", "not-an-email"),
    ("email", "ada@localhost"),
    ("email", "ada..lovelace@example.com"),
    ("email", "a" * 310 + "@example.com"),
    ("full_name", "   "),
    ("full_name", "n" * 201),
])
async def test_register_refuses_invalid_fields_by_name(client, field, value):
    body = {"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada", field: value}
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert [p for p in problems if p.startswith(f"body.{field}:")], problems
    if field != "full_name":  # a password typed into the wrong box is never echoed back
        assert value not in json.dumps(response.json())


async def test_longest_full_name_still_names_its_organization(client):
    user = await registered_user(client, full_name="N" * 200)
    assert len(user["organizations"][0]["name"]) <= 200
    assert user["organizations"][0]["name"].endswith("'s organization")


async def test_wrong_password_and_unknown_email_get_the_same_401(client):
    await register(client)
    wrong = await login(client, password="not the password")
    unknown = await login(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "invalid email or password"}


# the sign-in throttle (growing delays: tests/api/test_auth_hardening.py)


async def test_address_waits_after_failures_across_accounts(app, client):
    await register(client)
    async with client_at(app, "10.0.2.1") as attacker:
        for i in range(ADDRESS_ATTEMPTS):
            response = await login(attacker, email=f"guess{i}@example.com")
            assert response.status_code == 401
        waiting = await login(attacker)  # a real account, the right password
        assert waiting.status_code == 429
        assert int(waiting.headers["Retry-After"]) >= 1
    async with client_at(app, "10.0.2.2") as elsewhere:
        assert (await login(elsewhere)).status_code == 200


async def test_success_clears_the_pair_but_not_the_address_count(app, client):
    await register(client)  # one success from 127.0.0.1: the address count stays 0
    async with client_at(app, "10.0.3.1") as same:
        for _ in range(LOGIN_ATTEMPTS - 1):
            assert (await login(same, password="wrong password!")).status_code == 401
        assert (await login(same)).status_code == 200
        # the pair starts again from zero, the address does not: it has LOGIN_ATTEMPTS - 1
        # failures, and the rest of its budget is spent across other accounts
        for i in range(ADDRESS_ATTEMPTS - LOGIN_ATTEMPTS + 1):
            assert (await login(same, email=f"guess{i}@example.com")).status_code == 401
        assert (await login(same)).status_code == 429
    # the pair (ada, 10.0.3.1) was cleared by its success; 10.0.3.2 never failed
    async with client_at(app, "10.0.3.2") as other:
        assert (await login(other)).status_code == 200


# refresh-token rotation


async def test_refresh_rotates_and_reuse_revokes_the_family(app, client):
    await register(client)
    first = await tokens(client)
    rotated = await refresh(client, first["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    me = await client.get("/api/v1/auth/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200

    reused = await refresh(client, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json() == {"detail": "refresh token reuse detected; sign in again"}
    # the thief's (or the user's) newer token died with its family
    after = await refresh(client, second["refresh_token"])
    assert after.status_code == 401

    async with app.state.platform.sessions() as session:
        rows = list((await session.execute(select(RefreshToken))).scalars())
    assert len(rows) == 2
    assert len({r.family_id for r in rows}) == 1
    assert all(r.revoked_at is not None for r in rows)
    assert "user.refresh_reused" in [e.action for e in await audit_events(app)]


async def test_concurrent_refreshes_of_one_token_succeed_once(client):
    await register(client)
    pair = await tokens(client)
    results = await asyncio.gather(refresh(client, pair["refresh_token"]),
                                   refresh(client, pair["refresh_token"]))
    assert sorted(r.status_code for r in results) == [200, 401]
    winner = next(r for r in results if r.status_code == 200).json()
    loser = next(r for r in results if r.status_code == 401).json()
    assert loser == {"detail": "refresh token reuse detected; sign in again"}
    # the second use is a reuse like any other: the family, the winner's token too, is revoked
    assert (await refresh(client, winner["refresh_token"])).status_code == 401


async def test_refresh_refuses_garbage_and_access_tokens(client):
    await register(client)
    pair = await tokens(client)
    for token in ("garbage", pair["access_token"]):
        response = await refresh(client, token)
        assert response.status_code == 401
        assert response.json() == {"detail": "invalid refresh token"}


# access tokens


async def test_expired_access_token_is_401(client, settings):
    user = await registered_user(client)
    token, _ = issue_token(settings.secret(), subject=user["id"], kind="access", ttl_s=60,
                           now=datetime.now(UTC) - timedelta(hours=1))
    response = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer a.b.c", "Basic YWRhOnB3"])
async def test_malformed_credentials_are_401(client, header):
    response = await client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_refresh_token_is_not_an_access_token(client):
    await register(client)
    pair = await tokens(client)
    response = await client.get("/api/v1/auth/me", headers=bearer(pair["refresh_token"]))
    assert response.status_code == 401


async def test_no_token_is_401_with_a_challenge(client):
    response = await client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert (await client.post("/api/v1/auth/logout")).status_code == 401


# sign-out


async def test_logout_revokes_the_given_family_then_all(client):
    await register(client)
    laptop, phone = await tokens(client), await tokens(client)

    out = await client.post("/api/v1/auth/logout", headers=bearer(laptop["access_token"]),
                            json={"refresh_token": laptop["refresh_token"]})
    assert out.status_code == 204 and out.content == b""
    assert (await refresh(client, laptop["refresh_token"])).status_code == 401
    phone_again = await refresh(client, phone["refresh_token"])  # the other session lives
    assert phone_again.status_code == 200

    out = await client.post("/api/v1/auth/logout", headers=bearer(phone["access_token"]))
    assert out.status_code == 204
    assert (await refresh(client, phone_again.json()["refresh_token"])).status_code == 401


async def test_logout_refuses_another_users_refresh_token(client):
    await register(client)
    await register(client, email="grace@example.com", full_name="Grace Hopper")
    ada, grace = await tokens(client), await tokens(client, "grace@example.com")
    out = await client.post("/api/v1/auth/logout", headers=bearer(ada["access_token"]),
                            json={"refresh_token": grace["refresh_token"]})
    assert out.status_code == 401
    assert (await refresh(client, grace["refresh_token"])).status_code == 200


# audit trail and documentation


async def test_audit_events_are_recorded_without_secrets(app, client):
    user = await registered_user(client)
    assert (await login(client, password="wrong password!")).status_code == 401
    assert (await login(client, email="nobody@example.com")).status_code == 401
    pair = await tokens(client)
    out = await client.post("/api/v1/auth/logout", headers=bearer(pair["access_token"]))
    assert out.status_code == 204

    events = await audit_events(app)
    actions = [e.action for e in events]
    assert actions.count("user.login_failed") == 2  # kept although the request was refused
    assert {"user.registered", "user.login", "user.logout"} <= set(actions)
    registered = next(e for e in events if e.action == "user.registered")
    assert registered.actor_id == user["id"]
    assert registered.organization_id == user["organizations"][0]["id"]
    assert all(e.client_address == "127.0.0.1" for e in events)
    stored = json.dumps([[e.action, e.detail] for e in events])
    for secret in (PASSWORD, "wrong password!", pair["access_token"], pair["refresh_token"]):
        assert secret not in stored


async def test_openapi_documents_every_response(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    expected = {("/api/v1/auth/register", "post"): {"202", "422", "429", "503"},
                ("/api/v1/auth/login", "post"): {"200", "401", "422", "429", "503"},
                ("/api/v1/auth/refresh", "post"): {"200", "401", "422"},
                ("/api/v1/auth/logout", "post"): {"204", "401", "422"},
                ("/api/v1/auth/me", "get"): {"200", "401"}}
    for (path, method), statuses in expected.items():
        # 400 and 413: the middleware's answers, documented on every operation (api.openapi)
        assert set(paths[path][method]["responses"]) == statuses | {"400", "413"}, path
    error = paths["/api/v1/auth/login"]["post"]["responses"]["429"]
    assert error["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
