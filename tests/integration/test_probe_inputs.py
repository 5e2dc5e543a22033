"""The probes of issue #10, items 1 and 3, against a real ``infra-mind serve`` on loopback,
on SQLite and on PostgreSQL.

1. A what-if naming ``aws`` 3,000 times (21 KB) took 11 s and +455 MB of the server; a
   1 MB body of them reached 11.9 GB. The same list in ``preferences.providers`` made a
   worker run take 22 s. Now each is a 422 naming the field, in milliseconds of CPU, and
   the server's peak memory (VmHWM from /proc, reset before each probe) barely moves.
2. ``Infinity``, ``NaN`` and ``1e309`` in a requirements document or a what-if: on
   PostgreSQL the create was a 500 that reset the connection, the what-if an
   OverflowError; SQLite stored them. Now each is a 422 naming the field, nothing is
   stored, and the server goes on answering.

Bounded: one server per database, about twenty requests each, every request with a
timeout; the bounds on the server's CPU time and memory are generous ("not stuck, not
ballooning"), far from what was measured before. The figures are printed (``pytest -s``).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.procs import (
    WEB_SERVICE,
    Proc,
    base_env,
    create_pg_database,
    drop_pg_database,
    logs_on_failure,
    migrate,
    ok,
    serve,
    sign_up,
    unavailable,
    wait_ready,
)

READY_TIMEOUT_S = 60.0
#: The server's CPU for each refusal: it used to take 11 s (21 KB) or never finish (1 MB);
#: it takes milliseconds now. CPU seconds of the server process, not the clock: its own
#: work, however busy the machine is with other things (a parallel test run).
REFUSAL_MAX_CPU_S = 5.0
#: The server's peak memory growth over one probe: it used to be +455 MB (21 KB) and
#: 11.9 GB (1 MB); parsing a 1 MB JSON list takes a few MB.
GROWTH_MAX_MB = 64.0
#: Under the server's default MAX_BODY_BYTES (1,000,000).
BIG_BODY_BYTES = 990_000


@dataclass
class Server:
    proc: Proc
    dialect: str
    database_url: str


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path: Path) -> Iterator[Server]:
    name = None
    if request.param == "sqlite":
        database_url = f"sqlite+aiosqlite:///{tmp_path}/probe.db"
    else:
        try:
            name, database_url = create_pg_database("im_probe")
        except (OSError, asyncpg.PostgresError) as exc:
            unavailable("PostgreSQL", exc)
    env = base_env(database_url)
    proc = None
    try:
        migrate(env)
        proc = serve("api", env, tmp_path)
        yield Server(proc, request.param, database_url)
    finally:
        if proc is not None:
            proc.stop()
        if name is not None:
            drop_pg_database(name)


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _reset_peak(pid: int) -> None:
    """Start VmHWM again from the current RSS (Linux 4.0+: ``5`` to clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far, all its threads (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _probe(http: httpx.AsyncClient, proc: Proc, method: str, path: str,
                 headers: dict[str, str], body: bytes) -> tuple[httpx.Response, float, float]:
    """(response, the server's CPU seconds, its peak memory growth in MB) of one
    request."""
    pid = proc.popen.pid
    _reset_peak(pid)
    before_kb, before_cpu_s = _status_kb(pid, "VmHWM"), _cpu_s(pid)
    response = await http.request(method, f"{proc.url}{path}", content=body,
                                  headers={**headers, "Content-Type": "application/json"},
                                  timeout=60)
    cpu_s = _cpu_s(pid) - before_cpu_s
    return response, cpu_s, (_status_kb(pid, "VmHWM") - before_kb) / 1024


def _create_body(requirements: dict[str, Any]) -> bytes:
    return json.dumps({"title": "Probe", "requirements": requirements}).encode()


def _literal_at_peak_rps(literal: str) -> bytes:
    requirements = copy.deepcopy(WEB_SERVICE)
    requirements["workloads"][0]["peak_rps"] = "__HERE__"
    return _create_body(requirements).replace(b'"__HERE__"', literal.encode())


def _providers_body(target_bytes: int) -> bytes:
    count = (target_bytes - len('{"providers": []}')) // len('"aws", ')
    return json.dumps({"providers": ["aws"] * count}).encode()


async def test_probes_for_lists_and_non_finite_numbers(server: Server):
    proc = server.proc
    with logs_on_failure([proc]):
        async with httpx.AsyncClient(timeout=30) as http:
            await wait_ready(http, [proc], [proc], READY_TIMEOUT_S)
            headers = await sign_up(http, proc.url)
            assessments = f"{proc.url}/api/v1/assessments"
            created = ok(await http.post(assessments, headers=headers,
                                         json={"title": "Probe", "requirements": WEB_SERVICE}),
                         201)
            what_if = f"/api/v1/assessments/{created['id']}/what-if"
            # warm up the code paths (and the engine's catalog) before measuring
            ok(await http.post(f"{proc.url}{what_if}", headers=headers,
                               json={"providers": ["aws"]}), 200)
            await http.post(f"{proc.url}{what_if}", headers=headers,
                            json={"providers": ["aws", "aws"]})

            figures = []
            small = _providers_body(21_000)
            big = _providers_body(BIG_BODY_BYTES)
            three_thousand = copy.deepcopy(WEB_SERVICE)
            three_thousand["preferences"] = {"providers": ["aws"] * 3000}
            for label, method, path, body, problem in [
                    (f"what-if, {len(small):,} B of providers", "POST", what_if, small,
                     "body.providers: List should have at most 3 items"),
                    (f"what-if, {len(big):,} B of providers", "POST", what_if, big,
                     "body.providers: List should have at most 3 items"),
                    ("create, preferences.providers x 3000", "POST", "/api/v1/assessments",
                     _create_body(three_thousand),
                     "preferences.providers: List should have at most 3 items")]:
                response, cpu_s, growth_mb = await _probe(http, proc, method, path,
                                                          headers, body)
                figures.append(f"{label}: {response.status_code} in {cpu_s * 1000:.0f} ms "
                               f"of CPU, peak memory +{max(growth_mb, 0.0):.1f} MB")
                assert response.status_code == 422, (figures[-1], response.text[:300])
                (line,) = response.json()["problems"]
                assert line.startswith(problem), (label, line)
                assert cpu_s < REFUSAL_MAX_CPU_S, figures[-1]
                assert growth_mb < GROWTH_MAX_MB, figures[-1]

            for literal in ("Infinity", "-Infinity", "NaN", "1e309"):
                response, cpu_s, _ = await _probe(http, proc, "POST", "/api/v1/assessments",
                                                    headers, _literal_at_peak_rps(literal))
                assert response.status_code == 422, (literal, response.text)
                assert response.json()["problems"] == [
                    "workloads[0].peak_rps: Input should be a finite number"], literal
                response, _, _ = await _probe(http, proc, "POST", what_if, headers,
                                              f'{{"traffic_multiplier": {literal}}}'.encode())
                assert response.status_code == 422, (literal, response.text)
                assert response.json()["problems"] == [
                    "body.traffic_multiplier: Input should be a finite number"], literal
                figures.append(f"{literal}: 422 naming the field in {cpu_s * 1000:.0f} ms "
                               "of CPU")

            # the server goes on: nothing was stored, the database connection is fine
            listed = ok(await http.get(assessments, headers=headers), 200)
            assert [a["id"] for a in listed["items"]] == [created["id"]]
            ok(await http.post(assessments, headers=headers,
                               json={"title": "After", "requirements": WEB_SERVICE}), 201)
            ok(await http.get(f"{proc.url}/health/ready"), 200)
            assert proc.popen.poll() is None
    print(f"\n{server.dialect}: " + "; ".join(figures))
