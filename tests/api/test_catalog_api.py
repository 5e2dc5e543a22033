"""The catalog API: lookup, search, compare; authentication required."""

import pytest

from infra_mind.kit.security import issue_token
from infra_mind.models import Membership, Organization, User


@pytest.fixture()
async def token(app, settings):
    async with app.state.platform.sessions() as s:
        user = User(email="cat@example.com", password_hash="x", full_name="Cat")
        org = Organization(name="Cat org")
        s.add_all([user, org])
        await s.flush()
        s.add(Membership(organization_id=org.id, user_id=user.id, role="viewer"))
        await s.commit()
    tok, _ = issue_token(settings.secret(), subject=user.id, kind="access", ttl_s=600)
    return {"Authorization": f"Bearer {tok}"}


async def test_no_token_is_401(client):
    r = await client.get("/api/v1/catalog/prices/aws/m5.large", params={"region": "us-east-1"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


async def test_price_lookup(client, token):
    r = await client.get("/api/v1/catalog/prices/aws/m5.large", params={"region": "us-east-1"},
                         headers=token)
    assert r.status_code == 200
    (row,) = r.json()["prices"]
    assert row["price_usd"] == 0.096 and row["source"] and row["as_of"]
    r = await client.get("/api/v1/catalog/prices/aws/m5.lage", params={"region": "us-east-1"},
                         headers=token)
    assert r.status_code == 404 and "closest: m5.large" in r.json()["detail"]
    r = await client.get("/api/v1/catalog/prices/oracle/x", params={"region": "r"},
                         headers=token)
    assert r.status_code == 422


async def test_search_and_compare(client, token):
    r = await client.get("/api/v1/catalog/search", headers=token, params={
        "provider": "gcp", "region": "europe-west1", "min_vcpu": 4, "min_memory_gib": 16})
    items = r.json()["items"]
    assert r.status_code == 200 and items
    assert [i["price_usd"] for i in items] == sorted(i["price_usd"] for i in items)
    r = await client.post("/api/v1/catalog/compare", headers=token, json={"items": [
        {"provider": "aws", "sku": "m5.large", "region": "us-east-1"},
        {"provider": "azure", "sku": "Standard_D2s_v5", "region": "eastus"},
        {"provider": "gcp", "sku": "nope-1", "region": "us-central1"}]})
    body = r.json()
    assert r.status_code == 200
    assert body["rows"][0]["monthly_usd"] == round(0.096 * 730, 2)
    assert body["rows"][2]["error"].startswith("unknown gcp SKU")
    assert body["cheapest"]["provider"] in {"aws", "azure"}


async def test_a_derived_price_is_marked_with_its_rule_in_every_answer(client, token):
    # Azure NAT Gateway is listed for West Europe only; eastus is derived (rule R1)
    r = await client.get("/api/v1/catalog/prices/azure/azure-nat-gateway",
                         params={"region": "eastus"}, headers=token)
    assert r.status_code == 200
    (row,) = r.json()["prices"]
    assert row["basis"] == "derived" and row["rule"].startswith("region ratio")
    r = await client.get("/api/v1/catalog/prices/aws/m5.large", params={"region": "us-east-1"},
                         headers=token)
    (row,) = r.json()["prices"]
    assert row["basis"] == "list" and row["rule"] is None
    # AWS 1-year reserved machines: listed for two types, derived (rule R2) for the rest
    r = await client.get("/api/v1/catalog/search", headers=token, params={
        "provider": "aws", "region": "eu-west-1", "min_vcpu": 2,
        "purchase_option": "reserved_1y", "limit": 5})
    items = r.json()["items"]
    assert r.status_code == 200 and items
    assert all(i["basis"] in ("list", "derived") for i in items)
    assert any(i["basis"] == "derived" and i["rule"].startswith("commitment ratio")
               for i in items)
    r = await client.post("/api/v1/catalog/compare", headers=token, json={"items": [
        {"provider": "azure", "sku": "azure-nat-gateway", "region": "eastus"},
        {"provider": "azure", "sku": "azure-nat-gateway", "region": "westeurope"}]})
    derived, listed = (row["price"] for row in r.json()["rows"])
    assert (derived["basis"], listed["basis"]) == ("derived", "list")
    assert derived["rule"] and listed["rule"] is None


async def test_the_schema_says_what_basis_means(client):
    spec = (await client.get("/openapi.json")).json()
    price = spec["components"]["schemas"]["PriceOut"]
    assert "basis" in price["required"]
    assert price["properties"]["basis"]["enum"] == ["list", "derived"]
