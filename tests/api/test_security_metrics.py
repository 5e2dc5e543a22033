"""Security events as Prometheus series (issue #16, item 2): failed sign-ins, refresh-token
reuse, requests refused by a throttle or rate limit, and admin route uses. Each is driven
through the API over ASGI and read back from the app's own registry, on SQLite and
PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from infra_mind.config import load_settings
from infra_mind.kit.db import session_scope
from infra_mind.models import User
from tests.api.helpers import REQUIREMENTS, create_assessment, create_member
from tests.platform_fixtures import CHEAP_HASHING

PASSWORD = "correct horse battery"
EMAIL = "grace@example.com"
AUTH = "/api/v1/auth"


@pytest.fixture()
def settings(database_url):
    """Budgets small enough to reach in a few requests."""
    return load_settings(
        environment="test",
        database_url=database_url,
        redis_url=None,
        jwt_secret_key="t" * 48,
        login_attempts=2,
        login_window_s=60,
        login_address_attempts=100,
        register_attempts=2,
        register_window_s=600,
        **CHEAP_HASHING,
    )


def sample(app, name: str, **labels: str) -> float:
    """A series' value in the app's registry; 0 when it was never written."""
    value = app.state.platform.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def register(client: httpx.AsyncClient, email: str = EMAIL) -> httpx.Response:
    return await client.post(
        f"{AUTH}/register", json={"email": email, "password": PASSWORD, "full_name": "Grace Hopper"}
    )


async def login(
    client: httpx.AsyncClient, password: str = PASSWORD, email: str = EMAIL
) -> httpx.Response:
    return await client.post(f"{AUTH}/login", json={"email": email, "password": password})


async def test_failed_sign_ins_are_counted_by_reason_without_the_email(app, client):
    assert (await register(client)).status_code == 202
    assert (await login(client, email="nobody@example.com")).status_code == 401
    assert (await login(client, password="wrong horse battery")).status_code == 401
    assert (await login(client)).status_code == 200  # a success is not a failure

    assert sample(app, "auth_failed_logins_total", reason="unknown_email") == 1
    assert sample(app, "auth_failed_logins_total", reason="wrong_password") == 1
    assert sample(app, "auth_failed_logins_total", reason="inactive_account") == 0
    exposed = app.state.platform.metrics.render().decode()
    assert "auth_failed_logins_total" in exposed
    assert "example.com" not in exposed and "127.0.0.1" not in exposed


async def test_sign_in_throttle_refusals_are_counted(app, client):
    assert (await register(client)).status_code == 202
    answers = [(await login(client, password="wrong horse battery")).status_code for _ in range(5)]
    # two free attempts, then each one sets a delay the next one meets
    assert answers.count(429) >= 1, answers
    assert sample(app, "throttled_requests_total", limit="login") == answers.count(429)
    assert sample(app, "auth_failed_logins_total", reason="wrong_password") == answers.count(401)


async def test_registration_throttle_refusals_are_counted(app, client):
    answers = [(await register(client, f"user{i}@example.com")).status_code for i in range(3)]
    assert answers == [202, 202, 429]
    assert sample(app, "throttled_requests_total", limit="registration") == 1
    assert sample(app, "throttled_requests_total", limit="login") == 0


async def test_write_rate_limit_refusals_are_counted(app, client):
    app.state.platform.settings.write_rate_per_minute = 1
    owner = await create_member(app)
    await create_assessment(client, owner)
    limited = await client.post(
        "/api/v1/assessments",
        headers=owner.headers,
        json={"title": "x", "requirements": REQUIREMENTS},
    )
    assert limited.status_code == 429
    assert sample(app, "throttled_requests_total", limit="writes") == 1


async def test_refresh_token_reuse_is_counted_once_per_detection(app, client):
    assert (await register(client)).status_code == 202
    first = (await login(client)).json()["refresh_token"]
    rotated = await client.post(f"{AUTH}/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    assert sample(app, "auth_refresh_token_reuse_total") == 0  # a rotation is not a reuse
    assert (
        await client.post(f"{AUTH}/refresh", json={"refresh_token": "not-a-token"})
    ).status_code == 401
    assert sample(app, "auth_refresh_token_reuse_total") == 0  # nor is a forged token

    reused = await client.post(f"{AUTH}/refresh", json={"refresh_token": first})

    assert reused.status_code == 401 and "reuse" in reused.json()["detail"]
    assert sample(app, "auth_refresh_token_reuse_total") == 1


async def test_admin_route_uses_and_refusals_are_counted_by_view(app, client):
    admin = await create_member(app)
    async with session_scope(app.state.platform.sessions) as session:
        await session.execute(
            update(User).where(User.id == admin.user_id).values(is_platform_admin=True)
        )
    owner = await create_member(app)

    assert (await client.get("/api/v1/admin/audit", headers=admin.headers)).status_code == 200
    assert (
        await client.get("/api/v1/admin/failed-logins", headers=owner.headers)
    ).status_code == 404
    assert (await client.get("/api/v1/admin/status")).status_code == 401  # no token: not
    # an admin action at all

    assert sample(app, "admin_actions_total", action="audit", outcome="allowed") == 1
    assert sample(app, "admin_actions_total", action="failed_logins", outcome="refused") == 1
    assert sample(app, "admin_actions_total", action="status", outcome="refused") == 0
