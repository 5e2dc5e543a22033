"""``GET /api/v1/organizations/{id}/members`` (issue #13): who belongs to an organization.

Who may call it is in tests/api/test_tenancy_matrix.py (every role of the organization:
200; another organization's owner: 404; no token: 401). These check what it answers.
"""

from __future__ import annotations

from tests.api.helpers import add_membership, create_member

MEMBERS = "/api/v1/organizations/{organization_id}/members"


async def test_members_are_listed_with_their_email_name_and_role(app, client):
    owner = await create_member(app, email="owner@example.com")
    viewer = await create_member(app, role="viewer", organization_id=owner.organization_id,
                                 email="viewer@example.com")
    outsider = await create_member(app, email="elsewhere@example.com")
    response = await client.get(MEMBERS.format(organization_id=owner.organization_id),
                                headers=viewer.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [
        {"user_id": owner.user_id, "email": "owner@example.com", "full_name": "Test User",
         "role": "owner"},
        {"user_id": viewer.user_id, "email": "viewer@example.com", "full_name": "Test User",
         "role": "viewer"}]}
    assert outsider.user_id not in response.text


async def test_a_member_of_two_organizations_sees_each_one_and_no_other(app, client):
    first = await create_member(app)
    second = await create_member(app)
    third = await create_member(app)
    await add_membership(app, first, second.organization_id, "member")
    for organization_id, expected in ((first.organization_id, {first.user_id}),
                                      (second.organization_id,
                                       {second.user_id, first.user_id})):
        response = await client.get(MEMBERS.format(organization_id=organization_id),
                                    headers=first.headers)
        assert response.status_code == 200, response.text
        assert {m["user_id"] for m in response.json()["items"]} == expected
    refused = await client.get(MEMBERS.format(organization_id=third.organization_id),
                               headers=first.headers)
    assert (refused.status_code, refused.json()) == (404, {"detail": "organization not found"})
    too_long = await client.get(MEMBERS.format(organization_id="x" * 37),
                                headers=first.headers)
    assert too_long.status_code == 422
