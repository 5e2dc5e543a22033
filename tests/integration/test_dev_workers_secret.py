"""``infra-mind serve --workers 2`` in development without ``JWT_SECRET_KEY`` (issue #14).

A real ``serve`` on loopback, SQLite, no Redis: its two uvicorn processes must sign and
check tokens with one secret, the one generated beside the database (mode 0600). Before,
each process made its own, and a token worked only in the process that issued it (83% of
requests failed with four processes).

A user signs in once; then batches of concurrent requests on fresh connections (the
kernel hands each to whichever process accepts it) ask for ``/api/v1/auth/me`` with that
token until each process has answered some; every one must be 200. Which process answered
comes from each process's own metrics port (``METRICS_PORT``, the next free port for the
second process): its ``http_requests_total`` counts only what it served.

Needs no external service. Bounded: at most ``MAX_BATCHES`` batches; about 10 s in all.
"""

from __future__ import annotations

import asyncio
import stat
from collections import Counter
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from infra_mind.api.metrics_port import PORT_TRIES
from tests.integration.procs import (
    base_env,
    free_port,
    logs_on_failure,
    ok,
    serve,
    sign_up,
    wait_ready,
)

WORKERS = 2
BATCH = 20
MAX_BATCHES = 40
ME_ROUTE = "/api/v1/auth/me"


async def served_by_process(metrics_from: int) -> dict[int, Counter[str]]:
    """{metrics port: {status: requests to ME_ROUTE}} for each process serving metrics."""
    found: dict[int, Counter[str]] = {}
    async with httpx.AsyncClient(timeout=5) as http:
        for port in range(metrics_from, metrics_from + PORT_TRIES):
            try:
                response = await http.get(f"http://127.0.0.1:{port}/metrics")
            except httpx.HTTPError:
                continue
            counts: Counter[str] = Counter()
            for family in text_string_to_metric_families(response.text):
                for sample in family.samples:
                    if sample.name == "http_requests_total" \
                            and sample.labels.get("route") == ME_ROUTE:
                        counts[sample.labels["status"]] += int(sample.value)
            found[port] = counts
    return found


async def scenario(api_url: str, metrics_from: int) -> tuple[Counter[int],
                                                              dict[int, Counter[str]]]:
    """Statuses of every ``/auth/me`` answer, and what each process says it served."""
    statuses: Counter[int] = Counter()
    # no keep-alive: every request is a new connection, for any process to accept
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=fresh) as http:
        headers = await sign_up(http, api_url)
        ok(await http.get(f"{api_url}{ME_ROUTE}", headers=headers), 200)
        statuses[200] += 1
        by_process: dict[int, Counter[str]] = {}
        for _ in range(MAX_BATCHES):
            answers = await asyncio.gather(*(http.get(f"{api_url}{ME_ROUTE}", headers=headers)
                                             for _ in range(BATCH)))
            statuses.update(response.status_code for response in answers)
            by_process = await served_by_process(metrics_from)
            if sum(1 for counts in by_process.values() if counts["200"]) >= WORKERS:
                break
    return statuses, by_process


def test_a_token_from_one_process_is_accepted_by_every_process(tmp_path: Path):
    database = tmp_path / "db" / "dev.db"
    metrics_from = free_port()
    env = base_env(f"sqlite:///{database}", ENVIRONMENT="development",
                   METRICS_PORT=str(metrics_from))
    env.pop("JWT_SECRET_KEY")
    proc = serve("api", env, tmp_path, extra=["--workers", str(WORKERS)])
    try:
        with logs_on_failure([proc]):
            asyncio.run(_ready(proc))
            statuses, by_process = asyncio.run(scenario(proc.url, metrics_from))
    finally:
        proc.stop()
    assert set(statuses) == {200}, f"not every request was accepted: {dict(statuses)}"
    answered = {port: counts for port, counts in by_process.items() if counts["200"]}
    assert len(answered) == WORKERS, f"not every process answered: {by_process}"
    assert all(set(counts) == {"200"} for counts in by_process.values()), by_process
    secret_file = database.with_name("dev.jwt-secret")
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert secret_file.read_text().strip() not in proc.tail(400)  # never in the logs


async def _ready(proc) -> None:
    async with httpx.AsyncClient() as http:
        await wait_ready(http, [proc], [proc], timeout_s=60)
