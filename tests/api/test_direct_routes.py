"""The hot reads answered directly (``api.direct``) give FastAPI's answers, byte for byte.

Each request is sent twice to the same app: once as it serves (the direct handler), once
with every route left to FastAPI (``app.state.fastapi_only``); status, headers (but the
request id) and body must be the same, for good requests and for every way one can be
wrong. A spy on the direct handlers shows which requests they answered themselves.
"""

from __future__ import annotations

import pytest

from infra_mind.api import assessments as assessments_api
from infra_mind.api.direct import FASTAPI_ONLY
from infra_mind.services.auth import forget_access
from tests.api.helpers import add_membership, create_assessment, create_member, wait_for_status

BASE = "/api/v1/assessments"


async def both_ways(app, client, path: str, headers: dict[str, str]):
    """(direct answer, FastAPI's answer), each as (status, headers, body)."""
    answers = []
    for fastapi_only in (False, True):
        setattr(app.state, FASTAPI_ONLY, fastapi_only)
        response = await client.get(path, headers=headers)
        kept = {k: v for k, v in response.headers.items() if k != "x-request-id"}
        answers.append((response.status_code, kept, response.content))
    setattr(app.state, FASTAPI_ONLY, False)
    return answers


@pytest.fixture()
def answered_directly(monkeypatch):
    """The paths (with query) the direct handlers answered without handing over."""
    seen: list[str] = []
    original = assessments_api._page_query

    def spy(request):
        query = original(request)
        if query is not None:
            seen.append(str(request.url.query))
        return query

    monkeypatch.setattr(assessments_api, "_page_query", spy)
    return seen


async def test_the_list_is_the_same_answer_either_way(app, client, answered_directly):
    owner = await create_member(app)
    for i in range(3):
        await create_assessment(client, owner, title=f"Shop {i}")
    queries = ["", "?limit=2", "?limit=2&offset=1", "?status=draft", "?status=completed",
               "?offset=0&limit=100&status=draft"]
    invalid = ["?limit=0", "?limit=101", "?limit=-1", "?limit=abc", "?limit=%D9%A1",
               "?offset=-1", "?offset=1000000001", "?status=nope", "?limit=2&limit=3",
               "?limit=+2", "?limit=%202", "?unknown=1", "?limit=02",
               "?limit=99999999999999999999"]
    for query in queries + invalid:
        direct, fastapi = await both_ways(app, client, BASE + query, owner.headers)
        assert direct == fastapi, query
    for headers in ({}, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": f"Basic {owner.token}"},
                    {"Authorization": "Bearer"}):
        direct, fastapi = await both_ways(app, client, BASE, headers)
        assert direct == fastapi and direct[0] == 401, headers
    # the plain ones were answered directly; FastAPI judged the rest
    assert {"", "limit=2", "limit=2&offset=1", "status=draft", "limit=02"} \
        <= set(answered_directly)
    assert not {"limit=0", "limit=abc", "status=nope", "unknown=1", "limit=2&limit=3",
                "limit=%202"} & set(answered_directly)


async def test_a_result_is_the_same_answer_either_way(app, client):
    owner = await create_member(app)
    stranger = await create_member(app)
    done = await create_assessment(client, owner)
    assert (await client.post(f"{BASE}/{done['id']}/run",
                              headers=owner.headers)).status_code == 202
    await wait_for_status(client, owner, done["id"])
    draft = await create_assessment(client, owner)
    cases = [(done["id"], owner.headers, 200), (draft["id"], owner.headers, 404),
             (done["id"], stranger.headers, 404), ("no-such-id", owner.headers, 404),
             (done["id"], {}, 401), (done["id"], {"Authorization": "Bearer x.y.z"}, 401)]
    for assessment_id, headers, status in cases:
        direct, fastapi = await both_ways(app, client, f"{BASE}/{assessment_id}/result",
                                          headers)
        assert direct == fastapi and direct[0] == status, (assessment_id, status)
    etag = (await client.get(f"{BASE}/{done['id']}/result",
                             headers=owner.headers)).headers["etag"]
    direct, fastapi = await both_ways(app, client, f"{BASE}/{done['id']}/result",
                                      {**owner.headers, "If-None-Match": etag})
    assert direct == fastapi and direct[0] == 304


class CacheReads:
    """Counts the cache's read calls (one call: one round trip on Redis)."""

    def __init__(self, monkeypatch, cache) -> None:
        self.calls: list[str] = []
        for name in ("get", "get_many"):
            original = getattr(cache, name)

            async def counted(*args, _original=original, _name=name):
                self.calls.append(_name)
                return await _original(*args)

            monkeypatch.setattr(cache, name, counted)


async def test_a_warm_read_is_one_cache_read_with_the_users_state(app, client, monkeypatch):
    """The access entry (result) or the generations and page (list) are read in the same
    MGET as the user's state; answers stay those of the FastAPI path."""
    owner = await create_member(app)
    done = await create_assessment(client, owner)
    assert (await client.post(f"{BASE}/{done['id']}/run",
                              headers=owner.headers)).status_code == 202
    await wait_for_status(client, owner, done["id"])
    result, page = f"{BASE}/{done['id']}/result", f"{BASE}?limit=5"
    for path in (result, page):
        await client.get(path, headers=owner.headers)  # warms the cache and the roles seen
    reads = CacheReads(monkeypatch, app.state.platform.cache)
    for path in (result, page):
        reads.calls.clear()
        response = await client.get(path, headers=owner.headers)
        assert response.status_code == 200
        assert reads.calls == ["get_many"], path
    # a new organization for the user: the roles seen are old, the keys named from them
    # are not the page's, and the page is read as before (then the guess is new again)
    other = await create_member(app)
    await add_membership(app, owner, other.organization_id, "viewer")
    await forget_access(app.state.platform, owner.user_id)
    await create_assessment(client, other, title="Theirs")
    reads.calls.clear()
    listed = (await client.get(page, headers=owner.headers)).json()
    assert {item["title"] for item in listed["items"]} == {"Shop", "Theirs"}
    assert len(reads.calls) >= 2
    reads.calls.clear()
    again = await client.get(page, headers=owner.headers)
    assert again.json() == listed and reads.calls == ["get_many"]
