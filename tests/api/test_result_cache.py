"""Results are served from the cache after the first read, and the metric says so."""

import asyncio

from tests.api.helpers import create_member

STATIC_SITE = {"name": "site", "workloads": [{"name": "s", "type": "static_site"}]}


async def test_second_read_is_a_cache_hit(app, client):
    owner = await create_member(app)
    created = await client.post("/api/v1/assessments", headers=owner.headers,
                                json={"title": "t", "requirements": STATIC_SITE})
    aid = created.json()["id"]
    await client.post(f"/api/v1/assessments/{aid}/run", headers=owner.headers)
    for _ in range(200):
        status = (await client.get(f"/api/v1/assessments/{aid}",
                                   headers=owner.headers)).json()["status"]
        if status == "completed":
            break
        await asyncio.sleep(0.05)
    first = await client.get(f"/api/v1/assessments/{aid}/result", headers=owner.headers)
    second = await client.get(f"/api/v1/assessments/{aid}/result", headers=owner.headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    text = app.state.platform.metrics.render().decode()  # what METRICS_PORT serves
    assert 'cache_requests_total{result="miss"} 1.0' in text
    assert 'cache_requests_total{result="hit"} 1.0' in text
    stranger = await create_member(app)
    assert (await client.get(f"/api/v1/assessments/{aid}/result",
                             headers=stranger.headers)).status_code == 404
