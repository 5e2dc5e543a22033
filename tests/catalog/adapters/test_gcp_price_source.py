"""The GCP adapter against a local server replaying Cloud Billing Catalog API pages."""

from __future__ import annotations

from datetime import date

import pytest
from tests.catalog.adapters.conftest import LOOPBACK_TIMEOUT_S

from infra_mind.catalog.adapters.base import AdapterError
from infra_mind.catalog.adapters.gcp import SOURCE, GcpPriceSource
from infra_mind.catalog.gcp_machines import machine_shapes
from infra_mind.catalog.model import ProductFamily, PurchaseOption, Unit
from infra_mind.kit.retry import RetryPolicy

REGIONS = ["us-central1", "europe-west1"]


def source(url: str, policy: RetryPolicy, key: str) -> GcpPriceSource:
    return GcpPriceSource(api_key=key, base_url=url, policy=policy, timeout_s=LOOPBACK_TIMEOUT_S)


def by_key(rows):
    return {(r.sku, r.region, r.purchase_option): r for r in rows}


def shapes_of(family: str) -> int:
    return sum(1 for s in machine_shapes() if s.family == family)


def test_collects_both_pages_with_the_key_in_a_header(gcp_server, policy, gcp_key):
    rows = source(gcp_server.url, policy, gcp_key).fetch(REGIONS)

    assert {r.sku.split("-")[0] for r in rows} == {"n2", "e2", "c2", "n2d"}  # e2.. on page 2
    first, second = gcp_server.requests
    assert first.path == second.path == "/v1/services/6F81-5844-456A/skus"
    assert first.query == {"currencyCode": ["USD"]}
    assert second.query["pageToken"][0].startswith("CkoKSAoOc2t1X2ZhbWlseV9pZB")
    assert first.headers["x-goog-api-key"] == gcp_key
    assert "key" not in first.query  # never in a URL, where logs and proxies keep it


def test_machine_prices_are_core_plus_ram_rates(gcp_server, policy, gcp_key):
    rows = by_key(source(gcp_server.url, policy, gcp_key).fetch(REGIONS))

    n2 = rows[("n2-standard-2", "us-central1", PurchaseOption.ON_DEMAND)]
    assert n2.price_usd == round(2 * 0.031611 + 8 * 0.004237, 6)
    assert n2.unit is Unit.HOUR and n2.product_family is ProductFamily.COMPUTE
    assert n2.service == "Compute Engine" and n2.source == SOURCE
    assert n2.as_of == date(2026, 11, 27)  # pricingInfo.effectiveTime
    assert dict(n2.attributes) == {"vcpu": 2, "memory_gib": 8.0, "arch": "x86_64"}
    assert rows[("n2-highmem-4", "europe-west1", PurchaseOption.ON_DEMAND)].price_usd == round(
        4 * 0.034773 + 32 * 0.004661, 6)
    assert rows[("n2-standard-2", "us-central1", PurchaseOption.SPOT)].price_usd == round(
        2 * 0.00765 + 8 * 0.001025, 6)
    assert rows[("n2-standard-2", "us-central1", PurchaseOption.RESERVED_1Y)].price_usd == round(
        2 * 0.019915 + 8 * 0.002669, 6)
    assert rows[("e2-standard-2", "us-central1", PurchaseOption.ON_DEMAND)].price_usd == 0.067006
    assert rows[("c2-standard-4", "us-central1", PurchaseOption.ON_DEMAND)].price_usd == round(
        4 * 0.03398 + 16 * 0.00455, 6)
    assert rows[("n2d-highcpu-224", "us-central1", PurchaseOption.ON_DEMAND)].attributes[
        "memory_gib"] == 224.0


def test_only_asked_regions_and_predefined_families(gcp_server, policy, gcp_key):
    src = source(gcp_server.url, policy, gcp_key)
    rows = src.fetch(REGIONS)

    assert {r.region for r in rows} == set(REGIONS)
    n2 = shapes_of("n2")
    # us-central1: n2 x (on demand, spot, 1y), e2, c2, n2d on demand; europe-west1: n2.
    assert len(rows) == 3 * n2 + shapes_of("e2") + shapes_of("c2") + shapes_of("n2d") + n2
    # The custom and sole-tenancy N2 rates did not leak into predefined prices.
    assert len({r.price_usd for r in rows
                if r.sku == "n2-standard-2" and r.purchase_option is PurchaseOption.ON_DEMAND}) == 2
    assert src.covers("n2d-standard-8") and not src.covers("a2-highgpu-1g")


def test_a_zero_rate_skips_the_family_option_and_says_why(gcp_server, policy, gcp_key):
    src = source(gcp_server.url, policy, gcp_key)
    rows = src.fetch(REGIONS)

    assert not [r for r in rows if r.purchase_option is PurchaseOption.RESERVED_3Y]
    assert src.skipped == {"n2 reserved_3y: no positive RAM rate": shapes_of("n2")}


def test_missing_key_is_refused_before_any_request(gcp_server, policy):
    with pytest.raises(AdapterError, match=r"^gcp: set GCP_API_KEY"):
        GcpPriceSource(api_key="", base_url=gcp_server.url, policy=policy).fetch(REGIONS)
    assert gcp_server.requests == []


def test_the_adapter_reads_no_environment(gcp_server, policy, monkeypatch, gcp_key):
    """The key is a setting (``CatalogSettings.gcp_api_key``, handed over by
    ``catalog.refresh.default_source``): one in the environment alone is not used."""
    monkeypatch.setenv("GCP_API_KEY", gcp_key)

    with pytest.raises(AdapterError, match=r"^gcp: set GCP_API_KEY"):
        GcpPriceSource(api_key="", base_url=gcp_server.url, policy=policy).fetch(REGIONS)
    assert gcp_server.requests == []


def test_a_rejected_key_never_appears_in_the_error(gcp_server, policy, sleeps):
    wrong = "AIzaWRONG-key-that-must-stay-secret"

    with pytest.raises(AdapterError) as caught:
        source(gcp_server.url, policy, key=wrong).fetch(REGIONS)

    message = str(caught.value)
    assert "HTTP 400" in message and "API key not valid" in message
    assert wrong not in message and sleeps == []


def test_an_echoed_key_is_masked(gcp_server, policy, gcp_key):
    gcp_server.fail(403, body={"error": {"code": 403, "message":
                                         f"Key {gcp_key} is blocked; see "
                                         f"https://x.test/?key={gcp_key}&a=1"}})

    with pytest.raises(AdapterError) as caught:
        source(gcp_server.url, policy, gcp_key).fetch(REGIONS)

    assert gcp_key not in str(caught.value)
    assert "Key *** is blocked" in str(caught.value) and "?key=***&a=1" in str(caught.value)


def test_rate_limit_then_success(gcp_server, policy, sleeps, gcp_key):
    gcp_server.fail(429, times=1, headers={"Retry-After": "2"})
    gcp_server.fail(503, times=1)

    assert source(gcp_server.url, policy, gcp_key).fetch(["europe-west1"])
    assert sleeps == [2.0, 1.0]  # Retry-After, then the second backoff window


def test_connection_refused_is_one_line(closed_port_url, sleeps, gcp_key):
    policy = RetryPolicy(max_attempts=2, sleep=sleeps.append, jitter=lambda: 0.0)

    with pytest.raises(AdapterError) as caught:
        source(closed_port_url, policy, gcp_key).fetch(REGIONS)

    assert str(caught.value).startswith(f"gcp: network unreachable ({closed_port_url[7:]})")
    assert "\n" not in str(caught.value)
