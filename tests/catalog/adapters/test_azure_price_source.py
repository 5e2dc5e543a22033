"""The Azure adapter against a local server replaying Retail Prices API pages."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from tests.catalog.adapters.conftest import LOOPBACK_TIMEOUT_S

from infra_mind.catalog.adapters.azure import SOURCE, AzurePriceSource
from infra_mind.catalog.adapters.base import AdapterError, RateLimited
from infra_mind.catalog.model import ProductFamily, PurchaseOption, Unit
from infra_mind.kit.retry import RetryPolicy

SIZES = {
    "Standard_D2s_v5": {"vcpu": 2, "memory_gib": 8.0, "arch": "x86_64"},
    "D4s_v5": {"vcpu": 4, "memory_gib": 16.0, "arch": "x86_64", "series": "Dsv5"},
    "standard_nc4as_t4_v3": {"vcpu": 4, "memory_gib": 28.0, "arch": "x86_64", "gpu_count": 1,
                             "gpu_model": "NVIDIA T4", "gpu_memory_gib": 16.0},
}


def source(url: str, policy: RetryPolicy,
           timeout_s: float = LOOPBACK_TIMEOUT_S) -> AzurePriceSource:
    return AzurePriceSource(SIZES, base_url=f"{url}/api/retail/prices", policy=policy,
                            timeout_s=timeout_s)


def by_key(rows):
    return {(r.sku, r.purchase_option): r for r in rows}


def test_follows_next_page_link_for_both_price_types(azure_server, policy):
    rows = source(azure_server.url, policy).fetch(["eastus"])

    assert ("Standard_NC4as_T4_v3", PurchaseOption.ON_DEMAND) in by_key(rows)  # page 2
    paths = [(s.query["$filter"][0].rsplit("'", 2)[-2], s.query.get("$skip"))
             for s in azure_server.requests]
    assert paths == [("Consumption", None), ("Consumption", ["1000"]), ("Reservation", None)]
    first = azure_server.requests[0].query
    assert first["api-version"] == ["2023-01-01-preview"]
    assert first["$filter"] == ["serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' "
                                "and priceType eq 'Consumption'"]
    assert first["meterRegion"] == ["'primary'"]


def test_parses_options_units_and_specs(azure_server, policy):
    rows = by_key(source(azure_server.url, policy).fetch(["eastus"]))

    d2 = rows[("Standard_D2s_v5", PurchaseOption.ON_DEMAND)]
    assert d2.price_usd == 0.096 and d2.unit is Unit.HOUR
    assert d2.product_family is ProductFamily.COMPUTE and d2.service == "Virtual Machines"
    assert d2.region == "eastus" and d2.source == SOURCE
    assert d2.as_of.isoformat() == "2025-04-01"  # effectiveStartDate
    assert dict(d2.attributes) == {"vcpu": 2, "memory_gib": 8.0, "arch": "x86_64"}
    assert rows[("Standard_D2s_v5", PurchaseOption.SPOT)].price_usd == 0.0192
    # Reservation prices are for the whole term: 504 / 8760 h and 980 / 26280 h.
    assert rows[("Standard_D2s_v5", PurchaseOption.RESERVED_1Y)].price_usd == round(504 / 8760, 6)
    assert rows[("Standard_D2s_v5", PurchaseOption.RESERVED_3Y)].price_usd == round(
        980 / 26280, 6)
    assert rows[("Standard_D4s_v5", PurchaseOption.RESERVED_1Y)].price_usd == round(
        1008 / 8760, 6)
    # Only spec attributes travel from the size table.
    assert "series" not in rows[("Standard_D4s_v5", PurchaseOption.ON_DEMAND)].attributes
    gpu = rows[("Standard_NC4as_T4_v3", PurchaseOption.ON_DEMAND)]
    assert gpu.is_gpu and gpu.attributes["gpu_model"] == "NVIDIA T4"
    assert set(rows) == {
        ("Standard_D2s_v5", PurchaseOption.ON_DEMAND), ("Standard_D2s_v5", PurchaseOption.SPOT),
        ("Standard_D2s_v5", PurchaseOption.RESERVED_1Y),
        ("Standard_D2s_v5", PurchaseOption.RESERVED_3Y),
        ("Standard_D4s_v5", PurchaseOption.ON_DEMAND),
        ("Standard_D4s_v5", PurchaseOption.RESERVED_1Y),
        ("Standard_NC4as_T4_v3", PurchaseOption.ON_DEMAND)}


def test_skips_are_counted_with_reasons(azure_server, policy):
    src = source(azure_server.url, policy)
    rows = src.fetch(["eastus"])

    assert all(r.price_usd != 0.188 for r in rows)  # the Windows price
    assert src.skipped == {"Windows price": 1, "Low Priority price": 1, "zero price": 1,
                           "size with unknown vCPU/memory": 1, "reservation term '5 Years'": 1}
    assert src.unknown_sizes == {"Standard_E2s_v5"}
    assert src.covers("standard_d2s_v5") and not src.covers("Standard_E2s_v5")


def test_429_retry_after_seconds_is_honoured(azure_server, policy, sleeps):
    azure_server.fail(429, headers={"Retry-After": "7"}, body={"Error": {"Code": "TooMany"}})

    rows = source(azure_server.url, policy).fetch(["eastus"])

    assert sleeps == [7.0]
    assert len(rows) == 7


def test_429_retry_after_http_date_is_honoured(azure_server, sleeps):
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    policy = RetryPolicy(max_attempts=3, max_delay_s=30, sleep=sleeps.append, now=lambda: now)
    azure_server.fail(429, headers={"Retry-After": format_datetime(now + timedelta(seconds=12),
                                                                   usegmt=True)})

    source(azure_server.url, policy).fetch(["eastus"])

    assert sleeps == [12.0]


def test_retry_after_beyond_the_limit_gives_up_at_once(azure_server, policy, sleeps):
    azure_server.fail(429, headers={"Retry-After": "3600"})

    with pytest.raises(RateLimited) as caught:
        source(azure_server.url, policy).fetch(["eastus"])

    assert sleeps == [] and caught.value.retry_after_s == 3600
    assert "asked to wait 3600 s, more than the 8 s limit" in str(caught.value)


def test_500_twice_then_success_backs_off_exponentially(azure_server, policy, sleeps):
    azure_server.fail(500, times=2)

    rows = source(azure_server.url, policy).fetch(["eastus"])

    assert len(rows) == 7
    assert sleeps == [0.5, 1.0]


def test_full_jitter_keeps_delays_inside_the_window(azure_server, sleeps):
    policy = RetryPolicy(max_attempts=4, base_delay_s=0.5, max_delay_s=8, sleep=sleeps.append,
                         jitter=lambda: 0.25)
    azure_server.fail(503, times=3)

    source(azure_server.url, policy).fetch(["eastus"])

    assert sleeps == [0.125, 0.25, 0.5]


def test_permanent_500_fails_after_max_attempts(azure_server, policy, sleeps):
    azure_server.fail(500, times=10)

    with pytest.raises(AdapterError) as caught:
        source(azure_server.url, policy).fetch(["eastus"])

    assert len(azure_server.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert str(caught.value) == (f"azure: {azure_server.url[7:]} answered HTTP 500 "
                                 "(gave up after 4 attempts)")
    assert not isinstance(caught.value, RateLimited)


def test_4xx_is_not_retried(azure_server, policy, sleeps):
    azure_server.fail(400, body={"Error": {"Code": "BadRequest", "Message": "Invalid filter"}})

    with pytest.raises(AdapterError, match=r"refused the request: HTTP 400: .*Invalid filter"):
        source(azure_server.url, policy).fetch(["eastus"])

    assert sleeps == [] and len(azure_server.requests) == 1


def test_connection_refused_is_one_line(closed_port_url, sleeps):
    policy = RetryPolicy(max_attempts=3, sleep=sleeps.append, jitter=lambda: 0.0)

    with pytest.raises(AdapterError) as caught:
        AzurePriceSource(SIZES, base_url=f"{closed_port_url}/api/retail/prices",
                         policy=policy).fetch(["eastus"])

    message = str(caught.value)
    assert message.startswith(f"azure: network unreachable ({closed_port_url[7:]}): ConnectError")
    assert message.endswith("(gave up after 3 attempts)") and "\n" not in message
    assert len(sleeps) == 2


def test_timeouts_are_retried(serve, sleeps):
    release = threading.Event()

    def stall(seen):
        release.wait(2)  # longer than the client's timeout; released at the end
        return 200, {}, b"{}"

    server = serve(stall)
    policy = RetryPolicy(max_attempts=2, sleep=sleeps.append, jitter=lambda: 0.0)
    try:
        with pytest.raises(AdapterError, match=r"^azure: timed out talking to .*ReadTimeout"):
            source(server.url, policy, timeout_s=0.01).fetch(["eastus"])
    finally:
        release.set()
    assert len(sleeps) == 1


def test_next_page_link_stays_on_the_configured_host(azure_server, policy):
    """The recorded NextPageLink names prices.azure.com; the follow-up still hits us."""
    source(azure_server.url, policy).fetch(["eastus"])

    assert azure_server.requests[1].query["$skip"] == ["1000"]
