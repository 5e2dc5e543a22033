"""``infra-mind check-llm`` and ``check-api-rates`` against loopback servers speaking the
vendors' wire formats (``tests/fake_llm.py``, plus its model list) and the price APIs'
(``tests/catalog/adapters/conftest.py``)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from infra_mind.agents.llm import OpenAIProvider, RetryableLLMError
from infra_mind.catalog.adapters.azure import AzurePriceSource
from infra_mind.cli.main import main
from infra_mind.config import load_settings
from infra_mind.config.integrations import load_integrations_config
from infra_mind.kit import http as kit_http
from infra_mind.kit.cache import make_cache
from infra_mind.kit.presence import Presence, summarize_api_calls
from infra_mind.kit.retry import RetryPolicy
from infra_mind.ops.health import api_rates, llm_status
from tests.catalog.adapters.conftest import ReplayServer, azure_app
from tests.fake_llm import FakeLLMServer, Recorded, _error_body, _handler
from tests.integration.procs import free_port, redis_namespace

KEY = "sk-test-never-printed-0123456789"
_READS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
          "LLM_PROVIDER_ORDER", "AGENTS_CONFIG", "CONFIG_DIR", "REDIS_URL", "REDIS_NAMESPACE",
          "DATABASE_URL", "ENVIRONMENT", "JWT_SECRET_KEY")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    for name in _READS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(kit_http, "API_CALLS", kit_http.ApiCallLog())


@pytest.fixture(autouse=True)
def _no_log_handlers_left_by_other_tests(monkeypatch):
    """A test that configured logging (``configure_logging``) leaves a handler on a stream
    pytest has closed since; these tests read stderr, so they start without one."""
    monkeypatch.setattr(logging.getLogger(), "handlers", [])


@contextmanager
def serve_vendor() -> Iterator[FakeLLMServer]:
    """The fake vendor of ``tests/fake_llm.py``, also answering ``GET /v1/models`` in each
    vendor's format (its scripted faults apply to that request too)."""
    fake = FakeLLMServer()

    class Handler(_handler(fake)):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            anthropic = "anthropic-version" in headers
            with fake.lock:
                fake.requests.append(Recorded(self.path, headers, {}))
                fault = fake.faults.popleft() if fake.faults else None
            if self.path != "/v1/models":
                self._send(404, {"error": {"message": "not found"}}, {})
            elif fault is not None:
                status = int(fault.kind)
                key = headers.get("x-api-key") or headers.get("authorization", "")[7:]
                path = "/v1/messages" if anthropic else "/v1/chat/completions"
                extra = {"retry-after": fault.retry_after} if fault.retry_after else {}
                self._send(status, _error_body(path, status, key), extra)
            elif anthropic:
                self._send(200, {"data": [{"type": "model", "id": "claude-haiku-4-5",
                                           "display_name": "Claude Haiku 4.5"}],
                                 "has_more": False, "first_id": "claude-haiku-4-5",
                                 "last_id": "claude-haiku-4-5"}, {})
            else:
                self._send(200, {"object": "list", "data": [
                    {"id": "gpt-4.1-mini", "object": "model", "owned_by": "system"}]}, {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def vendor(monkeypatch) -> Iterator[FakeLLMServer]:
    with serve_vendor() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url_openai)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url_anthropic)
        yield fake


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- check-llm ------------------------------------------------------------------------------


def test_each_provider_reachable_with_its_key(capsys, vendor):
    code, out, err = run(capsys, "check-llm")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"ok        openai     {vendor.base_url_openai}: reachable, "
                               "auth ok (")
    assert lines[1].startswith(f"ok        anthropic  {vendor.base_url_anthropic}: reachable, "
                               "auth ok (")
    assert all("circuit: closed in this process's view (REDIS_URL not set" in line
               for line in lines)
    assert KEY not in out
    openai, anthropic = sorted(vendor.requests, key=lambda r: "x-api-key" in r.headers)
    assert (openai.path, openai.headers["authorization"]) == ("/v1/models", f"Bearer {KEY}")
    assert (anthropic.path, anthropic.headers["x-api-key"]) == ("/v1/models", KEY)
    assert anthropic.headers["anthropic-version"] == "2023-06-01"


def test_a_refused_key_fails_and_is_never_shown(capsys, vendor):
    vendor.fail("401")  # the fake echoes the key in its error body, as vendors do
    code, out, err = run(capsys, "check-llm", "--json")
    doc = json.loads(out)
    assert (code, err) == (1, "") and KEY not in out
    refused = [p for p in doc["providers"] if p["status"] == "down"]
    assert len(refused) == 1 and refused[0]["auth_ok"] is False
    assert refused[0]["detail"].startswith("reachable, authentication failed (HTTP 401)")
    assert set(doc["providers"][0]) == {"provider", "base_url", "status", "detail", "reachable",
                                        "auth_ok", "http_status", "latency_ms", "circuits"}


def test_rate_limited_is_degraded_and_unreachable_is_down(capsys, vendor, monkeypatch):
    vendor.fail("429", retry_after="20")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("LLM_PROVIDER_ORDER", "openai,anthropic")
    code, out, _ = run(capsys, "check-llm")
    assert code == 1
    openai, anthropic = out.splitlines()
    assert openai.startswith("degraded  openai ") and \
        "reachable, auth ok, rate limited (HTTP 429, Retry-After 20 s)" in openai
    assert anthropic.startswith("down      anthropic ") and "unreachable (ConnectError)" in \
        anthropic


def test_offline_writer_only(capsys):
    code, out, _ = run(capsys, "check-llm")
    assert (code, out) == (0, "no LLM provider configured: the offline writer writes "
                              "everything\n")
    assert json.loads(run(capsys, "check-llm", "--json")[1])["providers"] == []


def test_health_check_counts_a_failing_provider_as_degraded(capsys, vendor, tmp_path,
                                                            monkeypatch):
    vendor.fail("401")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/none.db")
    code, out, _ = run(capsys, "health-check", "--url", f"http://127.0.0.1:{free_port()}",
                       "--json", "--catalog-max-age-days", "100000")
    llm = next(c for c in json.loads(out)["checks"] if c["name"] == "llm")
    assert code == 1 and llm["status"] == "degraded" and KEY not in out
    assert [p["status"] for p in llm["providers"]].count("down") == 1


def test_circuits_published_by_other_processes(vendor):
    with redis_namespace() as space:
        async def publish_and_read() -> list[dict[str, Any]]:
            from infra_mind.agents.llm import CircuitBreaker

            breaker = CircuitBreaker(failure_threshold=1)
            breaker.record_failure()
            cache = make_cache(space.url, space.prefix)  # where a worker in it writes
            platform = SimpleNamespace(cache=cache, agents=SimpleNamespace(
                breakers={"openai": breaker}))
            presence = Presence(platform, "worker", runs_tasks=True)  # type: ignore[arg-type]
            await presence.beat()
            await cache.close()
            return await llm_status(load_settings(redis_url=space.url,
                                                  redis_namespace=space.prefix), 5.0)

        report = asyncio.run(publish_and_read())
    by_name = {row["provider"]: row for row in report}
    assert list(by_name["openai"]["circuits"].values()) == ["open"]
    assert by_name["anthropic"]["circuits"] == {}


# --- check-api-rates ------------------------------------------------------------------------


def test_an_llm_429_and_its_retry_after_are_reported(capsys, vendor):
    provider = OpenAIProvider(api_key=KEY, base_url=vendor.base_url_openai)
    vendor.fail("429", retry_after="30")

    async def two_calls() -> None:
        with pytest.raises(RetryableLLMError):
            await provider.complete("s", "p", model="m", max_tokens=16, temperature=0,
                                    timeout_s=5)
        await provider.complete("s", "p", model="m", max_tokens=16, temperature=0, timeout_s=5)

    asyncio.run(two_calls())
    code, out, _ = run(capsys, "check-api-rates", "--json")
    openai = next(r for r in json.loads(out)["apis"] if r["api"] == "openai")
    assert code == 1  # still inside the Retry-After
    assert (openai["calls_60m"], openai["rate_limited_60m"], openai["errors_60m"]) == (2, 1, 0)
    assert openai["last_retry_after_s"] == 30 and openai["state"] == "limited"
    assert openai["limited_until"] == pytest.approx(openai["last_rate_limited_at"] + 30)
    code, out, _ = run(capsys, "check-api-rates")
    lines = out.splitlines()
    assert lines[0].startswith("note: REDIS_URL is not set")
    line = next(line for line in lines if " openai " in line)
    assert re.match(r"limited      openai         calls this min/15 min/60 min [02]/2/2, "
                    r"429s 1, errors 0, last 429 at ", line)
    assert "(Retry-After 30 s), limited until " in line


def test_price_api_calls_are_recorded_by_the_adapters(capsys):
    server = ReplayServer(azure_app)
    try:
        server.fail(429, headers={"Retry-After": "7"})
        server.fail(500)
        policy = RetryPolicy(max_attempts=4, sleep=lambda s: None, jitter=lambda: 0.0)
        AzurePriceSource({}, base_url=f"{server.url}/api/retail/prices", policy=policy,
                         timeout_s=2).fetch(["eastus"])
        requests = len(server.requests)
    finally:
        server.close()
    code, out, _ = run(capsys, "check-api-rates", "--json")
    azure = next(r for r in json.loads(out)["apis"] if r["api"] == "azure-pricing")
    assert (azure["calls_60m"], azure["rate_limited_60m"], azure["errors_60m"]) == (
        requests, 1, 1)
    assert azure["last_retry_after_s"] == 7 and azure["limit_per_minute"] == 60
    assert code == 1 and azure["state"] == "limited"


def test_every_process_counts_and_the_budget_comes_from_integrations_yaml(tmp_path):
    (tmp_path / "integrations.yaml").write_text(
        "price_apis:\n  gcp:\n    base_url: https://cloudbilling.googleapis.com\n"
        "    max_requests_per_minute: 3\n")
    with redis_namespace() as space:
        now = 1_800_000_030.0  # half a minute in: "this minute" is the clock's minute

        async def two_processes_then_read() -> list[dict[str, Any]]:
            cache = make_cache(space.url, space.prefix)
            for pid in (101, 102):  # what two worker processes published
                kit_http.API_CALLS = kit_http.ApiCallLog(clock=lambda: now - 20)
                kit_http.record_api_call("gcp-pricing", "ok")
                kit_http.record_api_call("gcp-pricing", "ok")
                presence = Presence(SimpleNamespace(cache=cache, agents=None),  # type: ignore[arg-type]
                                    "worker", runs_tasks=True, id=f"host:{pid}")
                await presence.beat()
            await cache.close()
            kit_http.API_CALLS = kit_http.ApiCallLog()  # this process: no calls
            return await api_rates(load_settings(redis_url=space.url,
                                                 redis_namespace=space.prefix),
                                   now=now, integrations=load_integrations_config(
                                       config_dir=tmp_path))

        rows = asyncio.run(two_processes_then_read())
    gcp = next(r for r in rows if r["api"] == "gcp-pricing")
    assert (gcp["calls_1m"], gcp["limit_per_minute"], gcp["state"]) == (4, 3, "over budget")
    assert {r["api"]: r["state"] for r in rows}["openai"] == "idle"


def test_windows_count_from_now():
    now = 1_800_000_000.0
    minute = int(now // 60)
    log = {"openai": {"minutes": {str(minute): [2, 1, 0], str(minute - 5): [3, 0, 1],
                                  str(minute - 30): [4, 0, 0], str(minute - 60): [9, 9, 9]},
                      "last_call_at": now - 1, "last_rate_limited_at": now - 40,
                      "last_retry_after_s": 30.0}}
    summary = summarize_api_calls([log, log], now, include=["anthropic"])
    assert summary["openai"] == {
        "calls_1m": 4, "calls_15m": 10, "calls_60m": 18, "rate_limited_60m": 2,
        "errors_60m": 2, "last_call_at": now - 1, "last_rate_limited_at": now - 40,
        "last_retry_after_s": 30.0, "limited_until": None}  # its 30 s ran out 10 s ago
    assert summary["anthropic"]["calls_60m"] == 0
