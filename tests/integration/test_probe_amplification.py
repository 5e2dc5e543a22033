"""Issue #10, item 6: what one user's what-ifs and event streams cost everyone else.

One real ``infra-mind serve`` on loopback, on SQLite (where the streams' cost was seen)
and Redis ($INFRA_MIND_TEST_REDIS_BROKER, DB 14, flushed; one user at a time), with no
worker: runs stay ``queued``, so their event streams stay open.

1. **What-ifs.** User A asks 60 what-ifs at once on a 50-workload assessment (within the
   write limit); user B reads one assessment over and over meanwhile. Before: B's median
   went from 12 ms to 729 ms. Now A has one what-if at a time (the rest: 429), and the
   engine runs in an engine process, off the event loop. Then six users ask what-ifs
   back to back for a few seconds (one each at a time, all at once). B's read times are
   printed; what is checked is where the CPU went: the engine processes did the what-ifs'
   work, the API process (whose event loop B's reads need) a small part of it.
2. **Event streams.** A opens 300 streams on a draft: each sends its status and ends
   (they stayed open an hour, and 1,000 cost 90% of a core). Five users each open
   ``EVENT_STREAMS_PER_USER`` (10) streams on a queued run, and an eleventh (429 with
   Retry-After); the API process's CPU while the 50 stay open is printed, and bounded.

Figures are printed (``pytest -s``); the checks count work and CPU time, never the
clock, which a loaded machine (a parallel test run) moves; the bounds are generous.
Skips, with the reason, when Redis is unreachable, unless INFRA_MIND_REQUIRE_SERVICES=1
(CI), which makes it fail instead.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.procs import (
    STATIC_SITE,
    Proc,
    base_env,
    logs_on_failure,
    migrate,
    ok,
    redis_namespace,
    serve,
    sign_up,
    wait_ready,
)

WHAT_IFS = 60
WHAT_IF_USERS = 6
#: How long the six users keep asking.
WHAT_IF_STORM_S = 4.0
DRAFT_STREAMS = 300
STREAM_USERS = 5
STREAMS_PER_USER = 10  # EVENT_STREAMS_PER_USER, set below
#: While the 50 streams are open, the API process's CPU is measured for this long.
CPU_WINDOW_S = 3.0
READY_TIMEOUT_S = 60.0


def fifty_workloads() -> dict[str, Any]:
    """The largest requirements the API takes (50 workloads), on three providers."""
    workloads: list[dict[str, Any]] = []
    for i in range(50):
        if i % 3 == 0:
            workloads.append({"name": f"web{i}", "type": "web_service", "peak_rps": 200,
                              "cpu_ms_per_request": 20, "egress_gb_per_month": 100})
        elif i % 3 == 1:
            workloads.append({"name": f"db{i}", "type": "database", "storage_gb": 100})
        else:
            workloads.append({"name": f"site{i}", "type": "static_site", "storage_gb": 5,
                              "egress_gb_per_month": 50})
    return {"name": "Big estate", "business": {"monthly_budget_usd": 100_000},
            "preferences": {"providers": ["aws", "azure", "gcp"]}, "workloads": workloads}


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[Proc]:
    with redis_namespace() as space:
        env = base_env(f"sqlite+aiosqlite:///{tmp_path}/probe.db", space,
                       EVENT_STREAMS_PER_USER=str(STREAMS_PER_USER),
                       REGISTER_ATTEMPTS="1000")
        proc: Proc | None = None
        try:
            migrate(env)
            proc = serve("api", env, tmp_path)
            yield proc
        finally:
            if proc is not None:
                proc.stop()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _api_and_engine_cpu_s(api: Proc) -> tuple[float, float]:
    """(the API process's own CPU seconds, its engine processes') so far: the engine
    processes are the rest of its process group, and those of them it reaped already.
    CPU time is each process's own work, however busy the machine is otherwise."""
    tick = os.sysconf("SC_CLK_TCK")
    own = engines = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:  # after the ")" of the name: state ppid pgrp ... utime stime cutime cstime
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) != api.pgid:
            continue
        if int(entry) == api.popen.pid:
            own = (int(fields[11]) + int(fields[12])) / tick
            engines += (int(fields[13]) + int(fields[14])) / tick
        else:
            engines += (int(fields[11]) + int(fields[12])) / tick
    return own, engines


async def _reads(http: httpx.AsyncClient, url: str, headers: dict[str, str],
                 until: asyncio.Future | None = None, count: int = 0) -> list[float]:
    """Milliseconds of back-to-back GETs: ``count`` of them, or until ``until`` is done."""
    latencies: list[float] = []
    while (until is not None and not until.done()) or len(latencies) < count:
        started = time.perf_counter()
        ok(await http.get(url, headers=headers), 200)
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.01)
    return latencies


def _summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered):.1f} ms, p90 {p90:.1f} ms, n={len(ordered)}"


async def test_what_ifs_and_event_streams_cannot_starve_other_users(api: Proc):
    with logs_on_failure([api]):
        await _probe(api)


async def _probe(api: Proc) -> None:
    # no keep-alive reuse, for either client: the server closes a connection idle for 5 s
    # (uvicorn's default), and a request sent on it at that moment fails with "Server
    # disconnected". Seen under load twice: between the draft streams and the capped ones,
    # and on B's reader, idle while the three what-ifs alone took their time (CI, its 31st
    # request). A fresh connection per request takes that race out of the probe; B's
    # printed read times include a loopback connect
    limits = httpx.Limits(max_connections=DRAFT_STREAMS + 50, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http, \
            httpx.AsyncClient(timeout=60, limits=httpx.Limits(
                max_keepalive_connections=0)) as reader:
        await wait_ready(http, [api], [api], READY_TIMEOUT_S)
        a = await sign_up(http, api.url)
        b = await sign_up(http, api.url)
        big = ok(await http.post(f"{api.url}/api/v1/assessments", headers=a, json={
            "title": "Fifty workloads", "requirements": fifty_workloads()}), 201)["id"]
        mine = ok(await http.post(f"{api.url}/api/v1/assessments", headers=b, json={
            "title": "B's", "requirements": STATIC_SITE}), 201)["id"]
        b_url = f"{api.url}/api/v1/assessments/{mine}"
        what_if_url = f"{api.url}/api/v1/assessments/{big}/what-if"
        # warm: the engine process starts on the first what-if
        ok(await http.post(what_if_url, headers=a, json={"traffic_multiplier": 2}), 200)
        baseline = await _reads(reader, b_url, b, count=30)
        # where a what-if's work is done: three alone, then the storms below
        before = _api_and_engine_cpu_s(api)
        for i in range(3):
            ok(await http.post(what_if_url, headers=a, json={"traffic_multiplier": 3 + i}),
               200)
        api_one_s, engine_one_s = ((after - then) / 3 for after, then in zip(
            _api_and_engine_cpu_s(api), before, strict=True))
        api_cpu_s, engine_cpu_s = _api_and_engine_cpu_s(api)

        # 1a. sixty what-ifs at once from one user
        storm = asyncio.ensure_future(asyncio.gather(*(
            http.post(what_if_url, headers=a, json={"traffic_multiplier": 1 + i / 100})
            for i in range(WHAT_IFS))))
        during = await _reads(reader, b_url, b, until=storm)
        answers = Counter(r.status_code for r in await storm)
        refused = [r for r in await storm if r.status_code == 429]

        # 1b. six users, each asking back to back
        users = [await sign_up(http, api.url) for _ in range(WHAT_IF_USERS)]
        theirs = [ok(await http.post(f"{api.url}/api/v1/assessments", headers=u, json={
            "title": "Theirs", "requirements": fifty_workloads()}), 201)["id"]
            for u in users]
        stop = time.monotonic() + WHAT_IF_STORM_S
        asked: Counter[int] = Counter()

        async def keep_asking(headers: dict[str, str], assessment_id: str) -> None:
            url = f"{api.url}/api/v1/assessments/{assessment_id}/what-if"
            i = 0
            while time.monotonic() < stop:
                i += 1
                response = await http.post(url, headers=headers,
                                           json={"traffic_multiplier": 1 + i / 100})
                asked[response.status_code] += 1

        many = asyncio.ensure_future(asyncio.gather(*(
            keep_asking(u, t) for u, t in zip(users, theirs, strict=True))))
        during_many = await _reads(reader, b_url, b, until=many)
        await many
        api_cpu_s, engine_cpu_s = (after - before for after, before in zip(
            _api_and_engine_cpu_s(api), (api_cpu_s, engine_cpu_s), strict=True))
        print(f"\nB's reads alone: {_summary(baseline)}\nduring {WHAT_IFS} what-ifs from A "
              f"at once: {_summary(during)}; A's answers {dict(answers)}\nduring "
              f"{WHAT_IF_USERS} users' back-to-back what-ifs for {WHAT_IF_STORM_S:g} s: "
              f"{_summary(during_many)}; their answers {dict(asked)}\nCPU: one what-if "
              f"alone {api_one_s * 1000:.0f} ms in the API process, "
              f"{engine_one_s * 1000:.0f} ms in the engine's; during both storms "
              f"{api_cpu_s:.2f} s and {engine_cpu_s:.2f} s")

        # 2a. three hundred streams on a draft: each one event, then the end
        started = time.monotonic()
        drafts = await asyncio.wait_for(asyncio.gather(*(  # (they stayed open an hour)
            http.get(f"{api.url}/api/v1/assessments/{big}/events", headers=a)
            for _ in range(DRAFT_STREAMS))), 60)
        drafts_s = time.monotonic() - started
        print(f"{DRAFT_STREAMS} streams on a draft: all ended in {drafts_s:.1f} s")

        # 2b. five users at their cap on a queued run
        streamers = [await sign_up(http, api.url) for _ in range(STREAM_USERS)]
        queued = []
        for user in streamers:
            aid = ok(await http.post(f"{api.url}/api/v1/assessments", headers=user,
                                     json={"title": "Queued", "requirements": STATIC_SITE}),
                     201)["id"]
            ok(await http.post(f"{api.url}/api/v1/assessments/{aid}/run", headers=user), 202)
            queued.append(aid)
        open_streams: list[httpx.Response] = []
        extra: list[httpx.Response] = []
        try:
            for user, aid in zip(streamers, queued, strict=True):
                url = f"{api.url}/api/v1/assessments/{aid}/events"
                for _ in range(STREAMS_PER_USER):
                    response = await http.send(http.build_request("GET", url, headers=user),
                                               stream=True)
                    assert response.status_code == 200
                    open_streams.append(response)
                extra.append(await asyncio.wait_for(http.get(url, headers=user), 10))
            cpu_before, clock = _cpu_s(api.popen.pid), time.monotonic()
            await asyncio.sleep(CPU_WINDOW_S)
            core_share = (_cpu_s(api.popen.pid) - cpu_before) / (time.monotonic() - clock)
        finally:
            for response in open_streams:
                await response.aclose()

    print(f"{len(open_streams)} streams open on queued runs: the API process used "
          f"{core_share:.0%} of a core over {CPU_WINDOW_S:g} s; the 11th stream of each "
          f"user: {Counter(r.status_code for r in extra)}")
    # 1. A's what-ifs: one at a time, the rest refused with a hint when to retry
    assert set(answers) <= {200, 429} and answers[200] >= 1, answers
    assert all(r.headers.get("Retry-After") for r in refused)
    assert asked[200] >= WHAT_IF_USERS, asked  # everyone got answers
    assert set(asked) <= {200, 429, 503}, asked
    # B's reads were not starved (before: a median of 729 ms in the issue, 577 ms here
    # while six users asked; printed above): the engine's work, which held the event loop
    # B's reads need, is done in engine processes. Checked by where the CPU went, which a
    # loaded machine (a parallel test run) does not move, where B's latency it does: a
    # what-if costs the API process a small part of what it costs the engine's (measured
    # here: 10 ms against 230 ms), and during the storms the engine processes did the work
    # of every what-if answered
    assert engine_one_s > 2 * api_one_s, (api_one_s, engine_one_s)
    assert engine_cpu_s >= 0.5 * engine_one_s * (answers[200] + asked[200]), (
        engine_cpu_s, engine_one_s, answers, asked)
    # 2. streams: a draft's ends at once with its one status; the cap holds
    for response in drafts:
        assert response.status_code == 200
        assert response.text.count("event: status") == 1, response.text
        assert '"status": "draft"' in response.text
    assert [r.status_code for r in extra] == [429] * STREAM_USERS, extra
    assert all(r.headers.get("Retry-After") for r in extra)
    assert core_share < 0.3, core_share
