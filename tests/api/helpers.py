"""Small builders for API tests: users in organizations, with access tokens.

Users are written straight to the database and tokens minted with the app's secret,
so these tests do not depend on the auth endpoints.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from infra_mind.kit.db import session_scope
from infra_mind.kit.security import issue_token
from infra_mind.models import Membership, Organization, User
from tests.integration.procs import WEB_SERVICE

#: Small requirements the engine answers in milliseconds (two workloads, two providers).
REQUIREMENTS: dict[str, Any] = WEB_SERVICE


@dataclass(frozen=True)
class Member:
    user_id: str
    organization_id: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def create_member(app: FastAPI, *, role: str = "owner",
                        organization_id: str | None = None,
                        email: str | None = None) -> Member:
    """A user with ``role`` in ``organization_id`` (a new organization when None)."""
    platform = app.state.platform
    async with session_scope(platform.sessions) as session:
        if organization_id is None:
            organization = Organization(name=f"Org {uuid.uuid4().hex[:6]}")
            session.add(organization)
            await session.flush()
            organization_id = organization.id
        user = User(email=email or f"user-{uuid.uuid4().hex[:10]}@example.com",
                    password_hash="!unusable", full_name="Test User")
        session.add(user)
        await session.flush()
        session.add(Membership(organization_id=organization_id, user_id=user.id, role=role))
        user_id = user.id
    token, _ = issue_token(platform.settings.secret(), subject=user_id, kind="access",
                           ttl_s=platform.settings.access_token_ttl_s)
    return Member(user_id=user_id, organization_id=organization_id, role=role, token=token)


async def add_membership(app: FastAPI, member: Member, organization_id: str,
                         role: str) -> None:
    async with session_scope(app.state.platform.sessions) as session:
        session.add(Membership(organization_id=organization_id, user_id=member.user_id,
                               role=role))


async def create_assessment(client: httpx.AsyncClient, member: Member, *,
                            title: str = "Shop", requirements: dict[str, Any] | None = None,
                            **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/assessments", headers=member.headers,
                                 json={"title": title,
                                       "requirements": requirements or REQUIREMENTS, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def wait_for_status(client: httpx.AsyncClient, member: Member, assessment_id: str,
                          statuses: tuple[str, ...] = ("completed",),
                          timeout_s: float = 20.0) -> dict[str, Any]:
    """Poll GET until the status is one of ``statuses``; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = await client.get(f"/api/v1/assessments/{assessment_id}",
                                    headers=member.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, f"still {body['status']} after {timeout_s} s"
        await asyncio.sleep(0.05)
