"""An organization's own secrets (its LLM API keys), on SQLite and PostgreSQL: stored
encrypted, managed by owners and admins only, and never shown again, in a response, a
log line or an audit event. Who may call what is in the tenancy matrix too."""

from __future__ import annotations

import logging

from cryptography.fernet import Fernet
from sqlalchemy import select

from infra_mind.kit.crypto import KEYRING_KEY, Keyring
from infra_mind.models import AuditEvent, OrganizationSecret
from infra_mind.services.organizations import masked, secret_value
from tests.api.helpers import create_member

VALUE = "sk-proj-Abc123def456ghi789jkl012mno345pqr678stu901vwx-a1b2"
OTHER = "sk-ant-api03-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210-c3d4"


def url(organization_id: str, name: str | None = None) -> str:
    base = f"/api/v1/organizations/{organization_id}/secrets"
    return f"{base}/{name}" if name else base


async def rows(app, organization_id: str) -> list[OrganizationSecret]:
    async with app.state.platform.sessions() as session:
        found = await session.execute(select(OrganizationSecret).where(
            OrganizationSecret.organization_id == organization_id))
        return list(found.scalars().all())


async def events(app, action: str) -> list[AuditEvent]:
    async with app.state.platform.sessions() as session:
        found = await session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                      .order_by(AuditEvent.created_at))
        return list(found.scalars().all())


async def test_set_list_replace_delete(app, client):
    owner = await create_member(app)
    org = owner.organization_id
    put = await client.put(url(org, "openai_api_key"), headers=owner.headers,
                           json={"value": f"  {VALUE}\n"})  # a pasted newline is cut
    assert put.status_code == 200, put.text
    assert put.json()["hint"] == "sk-…a1b2" == masked(VALUE)
    assert put.json()["name"] == "openai_api_key"
    assert put.json()["updated_by"] == owner.user_id
    listed = await client.get(url(org), headers=owner.headers)
    assert listed.status_code == 200
    assert [i["name"] for i in listed.json()["items"]] == ["openai_api_key"]
    assert listed.json()["names"] == ["openai_api_key", "anthropic_api_key"]

    (row,) = await rows(app, org)
    assert VALUE not in row.ciphertext
    keyring = app.state.platform[KEYRING_KEY]
    assert row.key_fingerprint == keyring.primary
    async with app.state.platform.sessions() as session:
        assert await secret_value(session, keyring, org, "openai_api_key") == VALUE

    replaced = await client.put(url(org, "openai_api_key"), headers=owner.headers,
                                json={"value": OTHER})
    assert replaced.status_code == 200 and replaced.json()["hint"] == "sk-…c3d4"
    assert replaced.json()["created_at"] == put.json()["created_at"]
    async with app.state.platform.sessions() as session:
        assert await secret_value(session, keyring, org, "openai_api_key") == OTHER
    assert [e.detail for e in await events(app, "organization.secret_set")] == [
        {"name": "openai_api_key", "replaced": False},
        {"name": "openai_api_key", "replaced": True}]

    for _ in range(2):  # deleting what is not set is a 204 too, and records nothing
        gone = await client.delete(url(org, "openai_api_key"), headers=owner.headers)
        assert gone.status_code == 204
    assert (await client.get(url(org), headers=owner.headers)).json()["items"] == []
    assert len(await events(app, "organization.secret_deleted")) == 1
    assert await rows(app, org) == []


async def test_only_owners_and_admins_of_the_organization(app, client):
    owner = await create_member(app)
    org = owner.organization_id
    admin = await create_member(app, role="admin", organization_id=org)
    member = await create_member(app, role="member", organization_id=org)
    viewer = await create_member(app, role="viewer", organization_id=org)
    outsider = await create_member(app)
    assert (await client.put(url(org, "anthropic_api_key"), headers=admin.headers,
                             json={"value": VALUE})).status_code == 200
    for caller in (member, viewer, outsider):
        for method, path, body in (("GET", url(org), None),
                                   ("PUT", url(org, "anthropic_api_key"), {"value": OTHER}),
                                   ("DELETE", url(org, "anthropic_api_key"), None)):
            response = await client.request(method, path, headers=caller.headers, json=body)
            assert (response.status_code, response.json()) == (
                404, {"detail": "organization not found"}), (caller.role, method)
    assert (await client.get(url(org))).status_code == 401
    assert len(await rows(app, org)) == 1  # nobody else changed it
    async with app.state.platform.sessions() as session:
        assert await secret_value(session, app.state.platform[KEYRING_KEY], org,
                                  "anthropic_api_key") == VALUE


async def test_input_limits_never_echo_the_value(app, client):
    owner = await create_member(app)
    org = owner.organization_id
    for body in ({"value": "short"}, {"value": "with a space in it " * 2},
                 {"value": "x" * 1001}, {"value": VALUE, "extra": 1}, {}):
        response = await client.put(url(org, "openai_api_key"), headers=owner.headers,
                                    json=body)
        assert response.status_code == 422, body
        assert str(body.get("value", "")) not in response.text or not body.get("value")
    unknown = await client.put(url(org, "aws_secret_access_key"), headers=owner.headers,
                               json={"value": VALUE})
    assert unknown.status_code == 422 and VALUE not in unknown.text
    assert await rows(app, org) == []


async def test_the_value_is_in_no_response_log_or_audit_event(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    owner = await create_member(app)
    org = owner.organization_id
    responses = [
        await client.put(url(org, "openai_api_key"), headers=owner.headers,
                         json={"value": VALUE}),
        await client.get(url(org), headers=owner.headers),
        await client.put(url(org, "openai_api_key"), headers=owner.headers,
                         json={"value": VALUE}),
        await client.delete(url(org, "openai_api_key"), headers=owner.headers),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 204]
    for response in responses:
        assert VALUE not in response.text and VALUE[6:-6] not in response.text
    assert caplog.records and VALUE not in caplog.text and VALUE[6:-6] not in caplog.text
    async with app.state.platform.sessions() as session:
        details = [str(e.detail) for e in (await session.execute(select(AuditEvent)))
                   .scalars().all()]
    assert details and not any(VALUE[6:-6] in d for d in details)
    assert VALUE[6:-6] not in repr(app.state.platform[KEYRING_KEY])


async def test_reads_accept_every_listed_key(app, client):
    """A value written under the old key reads once the new one is first (mid-rotation)."""
    owner = await create_member(app)
    org = owner.organization_id
    platform = app.state.platform
    old, new = Fernet.generate_key(), Fernet.generate_key()
    platform[KEYRING_KEY] = Keyring([old])
    assert (await client.put(url(org, "openai_api_key"), headers=owner.headers,
                             json={"value": VALUE})).status_code == 200
    platform[KEYRING_KEY] = Keyring([new, old])  # the new key deployed first
    assert (await client.put(url(org, "anthropic_api_key"), headers=owner.headers,
                             json={"value": OTHER})).status_code == 200
    by_name = {r.name: r for r in await rows(app, org)}
    assert by_name["openai_api_key"].key_fingerprint == Keyring([old]).primary
    assert by_name["anthropic_api_key"].key_fingerprint == Keyring([new]).primary
    async with platform.sessions() as session:
        for name, value in (("openai_api_key", VALUE), ("anthropic_api_key", OTHER)):
            assert await secret_value(session, platform[KEYRING_KEY], org,
                                      name) == value


async def test_no_key_outside_development_is_503(app, client):
    owner = await create_member(app)
    platform = app.state.platform
    platform.settings = platform.settings.model_copy(update={"environment": "staging"})
    platform.pop(KEYRING_KEY)
    response = await client.put(url(owner.organization_id, "openai_api_key"),
                                headers=owner.headers, json={"value": VALUE})
    assert (response.status_code, response.json()) == (503, {
        "detail": "encryption at rest is not configured: the operator must set "
                  "ENCRYPTION_KEY"})
    assert await rows(app, owner.organization_id) == []
    listed = await client.get(url(owner.organization_id), headers=owner.headers)
    assert listed.status_code == 200 and listed.json()["items"] == []
