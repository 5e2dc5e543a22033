"""What the edge of the API believes and sends: the client address behind a trusted proxy,
the request id, HSTS, and where metrics are served (issue #10, items 2, 7, 10 and 11).

Every test that builds the ``app`` fixture runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import socket

import httpx
import pytest
from sqlalchemy import select

from infra_mind.api.app import create_app
from infra_mind.cli.main import main
from infra_mind.config import SettingsError, load_settings
from infra_mind.models import AuditEvent

REAL_CLIENT = "198.51.100.7"  # what the proxy saw (TEST-NET-2: a header value, never dialled)
LOGIN = "/api/v1/auth/login"


def client_at(app, address: str, base_url: str = "http://test") -> httpx.AsyncClient:
    """A client whose TCP peer address is ``address``."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url=base_url)


async def failed_login_addresses(app) -> list[str | None]:
    async with app.state.platform.sessions() as session:
        rows = await session.execute(select(AuditEvent.client_address)
                                     .where(AuditEvent.action == "user.login_failed")
                                     .order_by(AuditEvent.created_at))
        return list(rows.scalars())


async def bad_login(client, i: int, forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await client.post(LOGIN, headers=headers, json={
        "email": f"victim{i}@example.com", "password": "a wrong guess"})


# -- item 2: X-Forwarded-For believed from trusted proxies only --------------------------------


async def test_spoofed_forwarded_for_rotated_through_the_proxy_is_throttled(app):
    """The probe of issue #10: one client, a new spoofed X-Forwarded-For on each of 30
    sign-ins to 30 accounts, through a proxy that appends the address it saw. Before: 30
    x 401 (uvicorn with FORWARDED_ALLOW_IPS=* took the left-most, spoofed entry; and the
    app itself never read the header)."""
    statuses = []
    async with client_at(app, "127.0.0.1") as proxy:  # loopback: trusted by default
        for i in range(30):
            response = await bad_login(proxy, i, f"203.0.113.{i + 1}, {REAL_CLIENT}")
            statuses.append(response.status_code)
    assert set(await failed_login_addresses(app)) == {REAL_CLIENT}
    budget = 20  # LOGIN_ADDRESS_ATTEMPTS' default
    assert statuses == [401] * budget + [429] * (30 - budget)


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(app):
    async with client_at(app, "192.0.2.50") as direct:  # not a trusted proxy
        assert (await bad_login(direct, 1, f"203.0.113.9, {REAL_CLIENT}")).status_code == 401
    async with client_at(app, "127.0.0.1") as proxy:  # a chain of two trusted proxies
        assert (await bad_login(proxy, 2, f"203.0.113.9, {REAL_CLIENT}, 127.0.0.1")
                ).status_code == 401
    assert await failed_login_addresses(app) == ["192.0.2.50", REAL_CLIENT]


async def test_no_trusted_proxy_means_the_peer_is_the_client(tmp_path, migrated_sqlite):
    url = migrated_sqlite(tmp_path / "np.db")
    app = create_app(load_settings(environment="test", database_url=url, redis_url=None,
                                   jwt_secret_key="k" * 48, trusted_proxies=""))
    async with app.router.lifespan_context(app), client_at(app, "127.0.0.1") as peer:
        assert (await bad_login(peer, 1, REAL_CLIENT)).status_code == 401
        assert await failed_login_addresses(app) == ["127.0.0.1"]


@pytest.mark.parametrize("value", ["*", "10.0.0.0/8, *"])
def test_trust_in_everyone_is_refused_outside_development(value):
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        load_settings(environment="production", jwt_secret_key="k" * 48,
                      trusted_proxies=value)
    assert "*" in load_settings(environment="development", trusted_proxies=value
                                ).trusted_proxies


@pytest.mark.parametrize("value", ["nginx", "10.0.0.1/8", "10.0.0.300"])
def test_a_trusted_proxy_must_be_an_address_or_a_network(value):
    with pytest.raises(SettingsError, match=f"TRUSTED_PROXIES.*{value}"):
        load_settings(trusted_proxies=value)


def test_validate_config_names_a_trust_in_everyone(monkeypatch):
    from infra_mind.ops.validate import settings_problems

    for name, value in (("ENVIRONMENT", "production"), ("JWT_SECRET_KEY", "j" * 48),
                        ("TRUSTED_PROXIES", "*")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ENCRYPTION_KEY", raising=False)
    [problem] = [p for p in settings_problems(None) if "TRUSTED_PROXIES" in p]
    assert problem.startswith("environment: TRUSTED_PROXIES: '*'")


def test_serve_refuses_uvicorns_forwarded_allow_ips(monkeypatch, capsys):
    """The old variable is no longer read: left set, it stops the start with one line,
    before anything else (the database here is unreachable: a start that went on would
    fail there instead, with another message)."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("ENVIRONMENT", "development")
    code = main(["serve", "--host", "127.0.0.1", "--port", str(free_port())])
    _, err = capsys.readouterr()
    assert err.startswith("error: FORWARDED_ALLOW_IPS is not read: set TRUSTED_PROXIES")
    assert code == 2


# -- item 7: the request id ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [b"\xff\xfe\xfd", b"caf\xc3\xa9", b"a b", b"tab\there",
                                   b"x" * 65])
async def test_a_request_id_that_is_not_short_visible_ascii_is_replaced(client, value):
    for path in ("/health", "/api/v1/auth/me"):
        response = await client.get(path, headers={"X-Request-ID": value})
        assert response.status_code in (200, 401), (path, response.status_code)
        fresh = response.headers["x-request-id"]
        assert len(fresh) == 32 and int(fresh, 16) >= 0 and fresh.encode() != value


async def test_a_good_request_id_is_kept(client):
    value = "req-7f3a:2024.11/abc_~" + "x" * 42  # 64 visible ASCII characters
    response = await client.get("/health", headers={"X-Request-ID": value})
    assert response.headers["x-request-id"] == value


# -- item 11: HSTS over HTTPS only ----------------------------------------------------------


async def test_hsts_only_when_the_request_came_over_https(app):
    async with client_at(app, "192.0.2.1", "https://api.example.com") as tls:
        hsts = (await tls.get("/health")).headers["strict-transport-security"]
        assert hsts == "max-age=31536000; includeSubDomains"
        # a refusal written by the middleware itself carries it too
        big = await tls.post("/health", content=b"x" * 2_000_000)
        assert big.status_code == 413 and "strict-transport-security" in big.headers
    async with client_at(app, "192.0.2.1") as plain:
        assert "strict-transport-security" not in (await plain.get("/health")).headers
        # X-Forwarded-Proto from an untrusted peer does not make it HTTPS
        spoofed = await plain.get("/health", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in spoofed.headers
    async with client_at(app, "127.0.0.1") as proxy:  # TLS ended at the trusted proxy
        behind = await proxy.get("/health", headers={"X-Forwarded-Proto": "https",
                                                     "X-Forwarded-For": REAL_CLIENT})
        assert "strict-transport-security" in behind.headers


# -- item 10: metrics off the API port -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_metrics_are_not_on_the_api_port(client):
    response = await client.get("/metrics")
    assert response.status_code == 404
    assert response.json() == (await client.get("/api/v1/no-such-route")).json()
    assert "http_requests_total" not in response.text


async def test_metrics_are_served_on_their_own_port(tmp_path, migrated_sqlite):
    url = migrated_sqlite(tmp_path / "m.db")
    port = free_port()
    app = create_app(load_settings(environment="production", database_url=url,
                                   redis_url=None, jwt_secret_key="k" * 48,
                                   metrics_port=port))
    async with app.router.lifespan_context(app):
        async with client_at(app, "192.0.2.1") as api:
            await api.get("/health")
            assert (await api.get("/metrics")).status_code == 404
        async with httpx.AsyncClient() as scraper:
            text = (await scraper.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text
        assert 'http_requests_total{method="GET",route="/health",status="200"} 1.0' in text
        assert 'route="/metrics",status="404"' in text
    # the lifespan's end frees the port (the scrape's connection may linger in TIME_WAIT)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))


async def test_development_without_a_port_keeps_metrics_on_the_api_port(tmp_path,
                                                                         migrated_sqlite):
    url = migrated_sqlite(tmp_path / "d.db")
    app = create_app(load_settings(environment="development", database_url=url,
                                   redis_url=None))
    async with app.router.lifespan_context(app), client_at(app, "127.0.0.1") as c:
        await c.get("/health")
        text = (await c.get("/metrics")).text
        assert 'http_requests_total{method="GET",route="/health",status="200"}' in text
