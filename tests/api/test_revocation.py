"""Authentication reads no database on the hot path (#14), and revocation still takes effect
at once: a deactivated user, a changed role, a removed member, signing out everywhere or one
session, a reused refresh token. Changes go through ``services.auth``, which clears the
cached access state once they commit.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import pytest

from infra_mind.kit.errors import Invalid
from infra_mind.kit.security import issue_token
from infra_mind.services.auth import remove_membership, set_membership, set_user_active
from tests.api.helpers import Member, create_assessment, create_member

BASE = "/api/v1/assessments"
AUTH = "/api/v1/auth"
PASSWORD = "correct horse battery"


def fresh_token(app, member: Member) -> dict[str, str]:
    settings = app.state.platform.settings
    token, _ = issue_token(settings.secret(), subject=member.user_id, kind="access",
                           ttl_s=settings.access_token_ttl_s)
    return {"Authorization": f"Bearer {token}"}


async def signed_in(client, email: str) -> tuple[dict, dict]:
    """Register ``email`` and sign in twice: two sessions (token pairs)."""
    registered = await client.post(f"{AUTH}/register", json={
        "email": email, "password": PASSWORD, "full_name": "Ada Lovelace"})
    assert registered.status_code == 202, registered.text
    pairs = []
    for _ in range(2):
        response = await client.post(f"{AUTH}/login",
                                     json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        pairs.append(response.json())
    return pairs[0], pairs[1]


def bearer(pair: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def test_a_deactivated_user_is_refused_at_once(app, client, held):
    platform = app.state.platform
    owner = await create_member(app)
    assert (await client.get(BASE, headers=owner.headers)).status_code == 200  # cached
    assert await set_user_active(platform, owner.user_id, False)
    refused = await client.get(BASE, headers=owner.headers)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert (await client.get(BASE, headers=fresh_token(app, owner))).status_code == 401
    # reactivated: tokens issued before the deactivation stay refused, new ones work
    assert await set_user_active(platform, owner.user_id, True)
    assert (await client.get(BASE, headers=owner.headers)).status_code == 401
    assert (await client.get(BASE, headers=fresh_token(app, owner))).status_code == 200
    assert not await set_user_active(platform, "no-such-user", False)


async def test_a_changed_role_applies_to_the_next_request(app, client, held):
    owner = await create_member(app)
    viewer = await create_member(app, role="viewer", organization_id=owner.organization_id)
    aid = (await create_assessment(client, owner))["id"]
    rename = {"title": "Renamed"}
    refused = await client.patch(f"{BASE}/{aid}", headers=viewer.headers, json=rename)
    assert refused.status_code == 403
    await set_membership(app.state.platform, user_id=viewer.user_id,
                         organization_id=owner.organization_id, role="member")
    allowed = await client.patch(f"{BASE}/{aid}", headers=viewer.headers, json=rename)
    assert allowed.status_code == 200, allowed.text
    await set_membership(app.state.platform, user_id=viewer.user_id,
                         organization_id=owner.organization_id, role="viewer")
    again = await client.patch(f"{BASE}/{aid}", headers=viewer.headers, json=rename)
    assert again.status_code == 403
    with pytest.raises(Invalid, match="unknown role 'superuser'"):
        await set_membership(app.state.platform, user_id=viewer.user_id,
                             organization_id=owner.organization_id, role="superuser")


async def test_a_removed_member_no_longer_sees_the_organization(app, client, held):
    owner = await create_member(app)
    member = await create_member(app, role="member", organization_id=owner.organization_id)
    aid = (await create_assessment(client, owner))["id"]
    assert (await client.get(f"{BASE}/{aid}", headers=member.headers)).status_code == 200
    assert await remove_membership(app.state.platform, user_id=member.user_id,
                                   organization_id=owner.organization_id)
    gone = await client.get(f"{BASE}/{aid}", headers=member.headers)
    assert (gone.status_code, gone.json()) == (404, {"detail": "assessment not found"})
    listed = await client.get(BASE, headers=member.headers)
    assert listed.status_code == 200 and listed.json()["total"] == 0
    assert not await remove_membership(app.state.platform, user_id=member.user_id,
                                       organization_id=owner.organization_id)


async def test_signing_out_everywhere_refuses_every_access_token(client):
    laptop, phone = await signed_in(client, "everywhere@example.com")
    out = await client.post(f"{AUTH}/logout", headers=bearer(laptop))
    assert out.status_code == 204, out.text
    for pair in (laptop, phone):
        refused = await client.get(f"{AUTH}/me", headers=bearer(pair))
        assert refused.status_code == 401, refused.text
    # signing in again works at once
    again = await client.post(f"{AUTH}/login", json={"email": "everywhere@example.com",
                                                     "password": PASSWORD})
    assert again.status_code == 200, again.text
    assert (await client.get(f"{AUTH}/me", headers=bearer(again.json()))).status_code == 200


async def test_signing_one_session_out_refuses_its_access_tokens_only(client):
    laptop, phone = await signed_in(client, "one@example.com")
    out = await client.post(f"{AUTH}/logout", headers=bearer(phone),
                            json={"refresh_token": laptop["refresh_token"]})
    assert out.status_code == 204, out.text
    assert (await client.get(f"{AUTH}/me", headers=bearer(laptop))).status_code == 401
    assert (await client.get(f"{AUTH}/me", headers=bearer(phone))).status_code == 200


async def test_a_reused_refresh_token_refuses_the_sessions_access_tokens(client):
    stolen, other = await signed_in(client, "reuse@example.com")
    rotated = await client.post(f"{AUTH}/refresh",
                                json={"refresh_token": stolen["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    reused = await client.post(f"{AUTH}/refresh",
                               json={"refresh_token": stolen["refresh_token"]})
    assert reused.status_code == 401
    for pair in (stolen, rotated.json()):
        assert (await client.get(f"{AUTH}/me", headers=bearer(pair))).status_code == 401
    assert (await client.get(f"{AUTH}/me", headers=bearer(other))).status_code == 200
