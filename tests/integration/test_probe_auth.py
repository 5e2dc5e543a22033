"""The sign-in and registration probes of issue #10 (items 2 and 5), against a real
``infra-mind serve`` on loopback behind a trusted-proxy configuration.

One API process on a fresh PostgreSQL database, ``TRUSTED_PROXIES=127.0.0.1``: a client
on 127.0.0.1 plays the reverse proxy (it sends X-Forwarded-For as nginx does, the address
it saw last), a client bound to 127.0.0.2 or 127.0.0.3 is a client that reaches the API
directly. The addresses in the headers are documentation ranges (TEST-NET): header
values, never dialled.

1. Thirty sign-ins to thirty accounts, each with a new spoofed X-Forwarded-For in front of
   the address the proxy saw: once the address's budget is spent they get 429, and the
   audit log holds the address the proxy saw, never a spoofed one. (Before, with the
   shipped ``FORWARDED_ALLOW_IPS=*``: 30 x 401, the spoofed addresses in the log.)
2. Forty concurrent registrations from one client: REGISTER_ATTEMPTS are accepted, the
   rest get 429 with Retry-After, and ``/health`` keeps answering meanwhile.
3. Forty concurrent registrations from forty addresses (no per-address limit applies):
   all are accepted, hashed PASSWORD_HASH_CONCURRENCY at a time, so the process's peak
   memory grows by about that many argon2 buffers (64 MiB each), not forty. (Before: +387
   MB and ``/health`` at 10.8 s.)

Bounded: each scenario is a fixed number of requests with a timeout; about 30 s in all.
Skips, with the reason, when PostgreSQL is unreachable, unless INFRA_MIND_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.integration.procs import (
    Proc,
    base_env,
    create_pg_database,
    drop_pg_database,
    logs_on_failure,
    migrate,
    serve,
    unavailable,
    wait_ready,
)

REAL_CLIENT = "198.51.100.7"
ADDRESS_ATTEMPTS = 20
REGISTER_ATTEMPTS = 10
HASH_CONCURRENCY = 2
ARGON2_MIB = 64
BURST = 40
REQUEST_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[tuple[Proc, str]]:
    """One ``infra-mind serve`` behind a "proxy" on 127.0.0.1; (process, database URL)."""
    try:
        name, url = create_pg_database("im_probe_auth")
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
    logs = tmp_path_factory.mktemp("probe-auth")
    env = base_env(url, TRUSTED_PROXIES="127.0.0.1",
                   LOGIN_ADDRESS_ATTEMPTS=str(ADDRESS_ATTEMPTS),
                   REGISTER_ATTEMPTS=str(REGISTER_ATTEMPTS),
                   PASSWORD_HASH_CONCURRENCY=str(HASH_CONCURRENCY),
                   PASSWORD_HASH_WAIT_S="60")
    for variable in ("FORWARDED_ALLOW_IPS", "METRICS_PORT", "LOGIN_ATTEMPTS",
                     "LOGIN_WINDOW_S", "REGISTER_WINDOW_S", "LOGIN_MAX_DELAY_S"):
        env.pop(variable, None)
    proc = None
    try:
        migrate(env)
        proc = serve("api", env, logs)
        with logs_on_failure([proc]):
            asyncio.run(_ready(proc))
        yield proc, url
    finally:
        if proc is not None:
            proc.stop()
        drop_pg_database(name)


async def _ready(proc: Proc) -> None:
    async with httpx.AsyncClient() as http:
        await wait_ready(http, [proc], [proc], timeout_s=60)


def client_from(address: str) -> httpx.AsyncClient:
    """A client whose connections leave from ``address`` (a loopback address)."""
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=address),
                             timeout=REQUEST_TIMEOUT_S)


def memory_mib(proc: Proc, field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (the peak since the last reset), MiB."""
    for line in Path(f"/proc/{proc.popen.pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


def reset_peak(proc: Proc) -> None:
    """Start the peak (VmHWM) again from the resident size now (Linux 4.0+)."""
    Path(f"/proc/{proc.popen.pid}/clear_refs").write_text("5")


async def audit_addresses(url: str, action: str) -> Counter[str]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""), timeout=5)
    try:
        rows = await conn.fetch("SELECT client_address FROM audit_events WHERE action = $1",
                                action)
    finally:
        await conn.close()
    return Counter(row["client_address"] for row in rows)


async def health_while(http: httpx.AsyncClient, url: str, busy: asyncio.Future) -> int:
    """How many /health probes (one every 100 ms until ``busy`` is done) were answered
    while ``busy`` was still going. Before the fix one probe took 10.8 s, answered after
    the burst; counting answers during it needs no clock, which a loaded machine (a
    parallel test run) makes noisy."""
    answered_during = 0
    while not busy.done():
        response = await http.get(f"{url}/health", timeout=REQUEST_TIMEOUT_S)
        assert response.status_code == 200
        answered_during += not busy.done()
        await asyncio.sleep(0.1)
    return answered_during


def register_body(email: str) -> dict[str, str]:
    return {"email": email, "password": "probe passphrase 2024", "full_name": "Probe"}


def test_spoofed_forwarded_for_is_throttled_and_the_real_address_logged(api):
    proc, url = api

    async def probe() -> None:
        async with client_from("127.0.0.1") as proxy, client_from("127.0.0.2") as direct:
            statuses = []
            for i in range(30):
                response = await proxy.post(
                    f"{proc.url}/api/v1/auth/login",
                    headers={"X-Forwarded-For": f"203.0.113.{i + 1}, {REAL_CLIENT}"},
                    json={"email": f"victim{i}@example.com", "password": "a wrong guess"})
                statuses.append(response.status_code)
                if response.status_code == 429:
                    assert int(response.headers["Retry-After"]) >= 1
            assert statuses == [401] * ADDRESS_ATTEMPTS + [429] * (30 - ADDRESS_ATTEMPTS)
            # a client that reaches the API directly cannot name itself either
            response = await direct.post(
                f"{proc.url}/api/v1/auth/login", headers={"X-Forwarded-For": "203.0.113.99"},
                json={"email": "victim0@example.com", "password": "a wrong guess"})
            assert response.status_code == 401
            # another client behind the same proxy signs in as usual
            real = "198.51.100.8"
            registered = await proxy.post(f"{proc.url}/api/v1/auth/register",
                                          headers={"X-Forwarded-For": real},
                                          json=register_body("owner@example.com"))
            assert registered.status_code == 202, registered.text
            signed_in = await proxy.post(f"{proc.url}/api/v1/auth/login",
                                         headers={"X-Forwarded-For": real},
                                         json={"email": "owner@example.com",
                                               "password": "probe passphrase 2024"})
            assert signed_in.status_code == 200, signed_in.text
        failed = await audit_addresses(url, "user.login_failed")
        assert failed == {REAL_CLIENT: ADDRESS_ATTEMPTS, "127.0.0.2": 1}
        assert await audit_addresses(url, "user.login") == {real: 1}

    with logs_on_failure([proc]):
        asyncio.run(probe())


def test_concurrent_registrations_from_one_client_are_throttled(api):
    proc, url = api

    async def probe() -> None:
        async with client_from("127.0.0.3") as attacker, client_from("127.0.0.1") as probe:
            burst = asyncio.gather(*(
                attacker.post(f"{proc.url}/api/v1/auth/register",
                              json=register_body(f"flood{i}@example.com"))
                for i in range(BURST)))
            health = await health_while(probe, proc.url, burst)
            responses = await burst
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {202: REGISTER_ATTEMPTS, 429: BURST - REGISTER_ATTEMPTS}
        assert all(1 <= int(r.headers["Retry-After"]) <= 3600
                   for r in responses if r.status_code == 429)
        assert health >= 1, "no /health answer while the registrations were handled"
        assert (await audit_addresses(url, "user.registered"))["127.0.0.3"] == \
            REGISTER_ATTEMPTS

    with logs_on_failure([proc]):
        asyncio.run(probe())


def test_concurrent_registrations_hash_a_few_at_a_time(api):
    proc, _ = api

    async def probe() -> float:
        reset_peak(proc)  # the start-up's peak (migrations, imports) is not the burst's
        before_mib = memory_mib(proc, "VmRSS")
        async with client_from("127.0.0.1") as proxy, client_from("127.0.0.1") as probe:
            burst = asyncio.gather(*(
                proxy.post(f"{proc.url}/api/v1/auth/register",
                           headers={"X-Forwarded-For": f"198.51.100.{100 + i}"},
                           json=register_body(f"many{i}@example.com"))
                for i in range(BURST)))
            health = await health_while(probe, proc.url, burst)
            responses = await burst
        assert [r.status_code for r in responses] == [202] * BURST
        assert health >= 1, "no /health answer while the registrations were hashed"
        return memory_mib(proc, "VmHWM") - before_mib

    with logs_on_failure([proc]):
        growth_mib = asyncio.run(probe())
    print(f"peak memory growth over {BURST} concurrent registrations: {growth_mib:.0f} MiB")
    # two argon2 buffers at a time, plus room for the requests themselves; forty at once
    # (or the six of the default thread pool, as before) would be 384 MiB or more
    assert growth_mib < HASH_CONCURRENCY * ARGON2_MIB + 100, growth_mib
