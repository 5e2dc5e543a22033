"""A request whose database connection is dropped under it (a restart, a failover, a
killed backend) is answered 503 with Retry-After, not 500: the client's retry is all it
takes. PostgreSQL only (the SQLite half of the ``app`` fixture skips)."""

from __future__ import annotations

import asyncio

from tests.api.helpers import create_assessment, create_member
from tests.pg_failures import kill_backend_waiting_on_a_lock, lock_row, pg_url_of

BASE = "/api/v1/assessments"


async def test_a_request_whose_connection_is_killed_is_told_to_try_again(app, client,
                                                                         caplog):
    pg = pg_url_of(app)
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    locker = await lock_row(pg, aid)
    try:
        # the rename's UPDATE waits on the lock; its backend is then terminated
        renaming = asyncio.create_task(client.patch(f"{BASE}/{aid}", headers=owner.headers,
                                                    json={"title": "Renamed"}))
        await kill_backend_waiting_on_a_lock(pg)
        response = await asyncio.wait_for(renaming, 30)
    finally:
        await locker.execute("ROLLBACK")
        await locker.close()
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"detail": "the database connection was lost; try again"}
    assert any("database connection lost under PATCH /api/v1/assessments/{assessment_id}"
               in record.getMessage() for record in caplog.records), caplog.records
    again = await client.patch(f"{BASE}/{aid}", headers=owner.headers,
                               json={"title": "Renamed"})
    assert again.status_code == 200 and again.json()["title"] == "Renamed", again.text
