"""Health, readiness, metrics, security headers and limits."""

from infra_mind.api.app import create_app
from infra_mind.config import load_settings


async def test_liveness_and_readiness(client):
    r = await client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = await client.get("/health/ready")
    assert r.status_code == 200
    checks = r.json()["checks"]
    catalog = checks.pop("catalog")
    assert checks == {"database": "ok", "cache (memory)": "ok", "broker": "ok"}
    assert catalog == "ok" or catalog.startswith("stale: oldest price ")


async def test_readiness_leaves_the_catalog_out_of_this_process(app, client, monkeypatch):
    """The catalog's age comes from a child process, once per snapshot file and day: a
    probe makes the API process neither load the catalog nor ask again."""
    import sys

    from infra_mind.catalog import readiness, store

    children: list[tuple[str, ...]] = []
    ask = readiness._ask_child

    async def counted(snapshot, max_age_days):
        children.append((str(snapshot), str(max_age_days)))
        return await ask(snapshot, max_age_days)

    monkeypatch.setattr(readiness, "_ask_child", counted)
    monkeypatch.setattr(store, "_loaded", None)  # a load here would fail the probe
    before = set(sys.modules)
    answers = [(await client.get("/health/ready")).json()["checks"]["catalog"]
               for _ in range(3)]
    assert len(set(answers)) == 1 and answers[0] != readiness.UNREADABLE
    assert len(children) == 1
    assert "infra_mind.catalog.coverage" in before or \
        "infra_mind.catalog.coverage" not in sys.modules


async def _ready(url: str, **overrides):
    import httpx

    app = create_app(load_settings(environment="test", database_url=url,
                                   jwt_secret_key="k" * 48, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get("/health/ready")


async def test_a_stale_catalog_is_a_warning_and_the_instance_stays_ready(tmp_path,
                                                                          migrated_sqlite):
    from infra_mind.catalog.coverage import staleness
    from infra_mind.catalog.store import default_catalog

    url = migrated_sqlite(tmp_path / "r.db")
    r = await _ready(url, catalog_max_age_days=1)
    age = staleness(default_catalog(), 1).age_days
    assert age is not None and age > 1
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {
        "database": "ok", "cache (memory)": "ok", "broker": "ok",
        "catalog": f"stale: oldest price {age} days (limit 1)"}}
    r = await _ready(url, catalog_max_age_days=36_500)
    assert r.status_code == 200 and r.json()["checks"]["catalog"] == "ok"


async def test_an_unreadable_catalog_is_said_without_its_path(tmp_path, monkeypatch,
                                                              migrated_sqlite):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    monkeypatch.setenv("INFRA_MIND_CATALOG", str(broken))  # the setting: no cache to clear
    r = await _ready(migrated_sqlite(tmp_path / "r.db"))
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert r.json()["checks"]["catalog"] == "unreadable: `infra-mind catalog stats` says why"
    assert str(tmp_path) not in r.text


async def test_every_response_has_a_request_id_and_security_headers(client):
    r = await client.get("/health", headers={"X-Request-ID": "abc123"})
    assert r.headers["x-request-id"] == "abc123"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    r = await client.get("/api/v1/nowhere")
    assert r.status_code == 404 and r.headers["x-request-id"]


async def test_metrics_count_requests_by_route_and_status(app, client):
    await client.get("/health")
    await client.get("/api/v1/nowhere")
    # what METRICS_PORT serves (tests/api/test_edge_headers.py): not on the API port
    text = app.state.platform.metrics.render().decode()
    assert 'http_requests_total{method="GET",route="/health",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "http_request_duration_seconds_bucket" in text


async def test_body_over_the_limit_is_413(tmp_path, migrated_sqlite):
    url = migrated_sqlite(tmp_path / "b.db")
    app = create_app(load_settings(environment="test", database_url=url, max_body_bytes=2048,
                                   jwt_secret_key="k" * 48))
    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post("/health", content=b"x" * 5000,
                             headers={"content-type": "application/json"})
            assert r.status_code == 413 and "2048" in r.json()["detail"]


async def test_readiness_names_what_is_down(tmp_path):
    app = create_app(load_settings(environment="test", jwt_secret_key="k" * 48,
                                   database_url="postgresql+asyncpg://nobody@127.0.0.1:1/x"))
    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/health/ready")
            assert r.status_code == 503
            assert r.json()["checks"]["database"].startswith("down")
            assert r.json()["status"] == "not ready"  # the catalog's "ok" changes nothing


def test_nul_escape_detection():
    from infra_mind.api.app import has_nul_escape

    assert has_nul_escape(b'{"a": "x\\u0000"}')
    assert has_nul_escape(b'{"a": "\\\\\\u0000"}')  # escaped backslash, then the escape
    assert not has_nul_escape(b'{"a": "\\\\u0000"}')  # a backslash and the text u0000
    assert not has_nul_escape(b'{"a": "u0000"}')
    assert has_nul_escape(b'{"a": "x\x00"}')


async def test_start_up_objects_are_frozen_while_the_app_serves(tmp_path, migrated_sqlite):
    """What start-up made is kept out of the collector's full passes while the app runs
    (tail latency), and handed back at shutdown (tests build many apps in one process)."""
    import gc

    import httpx

    url = migrated_sqlite(tmp_path / "f.db")
    app = create_app(load_settings(environment="test", database_url=url,
                                   jwt_secret_key="k" * 48))
    before = gc.get_freeze_count()
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > before
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            assert (await c.get("/health")).status_code == 200
    assert gc.get_freeze_count() == 0
