"""Static sites and public assets go through the provider's CDN, object storage the origin
(issue #12, item 3).

Before: a static site was an S3 bucket behind an ALB (which cannot serve S3), and an
asset-heavy game pushed ~23 TB a month from its origin as internet egress.
"""

import pytest

from infra_mind.catalog.model import ProductFamily, Provider, Unit
from infra_mind.engine.sizing import AVG_RESPONSE_KB
from tests.engine.rows import catalog, design, lines, network, requirements, row, vm


def cdn(provider: Provider = Provider.AWS, **extra):
    """CloudFront-like: 1 TB free, then tiers; HTTPS requests per 10,000."""
    return [row(ProductFamily.CDN, "cdn-data", 0.085, Unit.GB, provider=provider,
                tier=(0.0, 10240.0), dimension="data", free_gb_per_month=1024),
            row(ProductFamily.CDN, "cdn-data", 0.080, Unit.GB, provider=provider,
                tier=(10240.0, 51200.0), dimension="data", free_gb_per_month=1024),
            row(ProductFamily.CDN, "cdn-data", 0.060, Unit.GB, provider=provider,
                tier=(51200.0, None), dimension="data", free_gb_per_month=1024),
            row(ProductFamily.CDN, "cdn-requests", 0.01, Unit.REQUESTS_10K,
                provider=provider, dimension="requests")]


ROWS = [*network(), *cdn()]
CAT = catalog(ROWS)
SITE = {"type": "static_site", "storage_gb": 2, "egress_gb_per_month": 2000}


def test_a_static_site_is_object_storage_behind_the_cdn_with_no_servers():
    d = design(CAT, requirements(SITE))
    components = {li.component for li in lines(d)}
    assert "site files (CDN origin)" in components
    assert not {c for c in components if "load balancer" in c or "app servers" in c}
    assert "internet egress" not in components  # its egress is the CDN's
    data = lines(d, "CDN data transfer")
    assert sum(li.quantity for li in data) == pytest.approx(2000 - 1024)  # after 1 TB free
    (requests,) = lines(d, "CDN requests")
    expected = 2000 * 1e6 / AVG_RESPONSE_KB  # 30 KB a response when not stated
    assert requests.quantity == pytest.approx(expected / 10_000, rel=1e-4)
    assert d.has_public_endpoint and d.capabilities["encryption_in_transit"] == \
        "TLS at the CDN edge"


def test_public_assets_go_through_the_cdn_and_private_egress_stays_internet_egress():
    assets = {"type": "object_storage", "storage_gb": 800, "public": True,
              "egress_gb_per_month": 23000, "requests_per_month": 40_000_000}
    api = {"type": "web_service", "peak_rps": 30, "cpu_ms_per_request": 10,
           "egress_gb_per_month": 500}
    d = design(catalog(ROWS, vm("c.large", 2, 4, 0.1)), requirements(assets, api))
    data = lines(d, "CDN data transfer")
    assert [li.quantity for li in data] == pytest.approx([10240 - 1024, 23000 - 10240])
    (requests,) = lines(d, "CDN requests")
    assert requests.quantity == pytest.approx(4000)  # 40 million / 10,000
    (egress,) = lines(d, "internet egress")
    assert egress.quantity == pytest.approx(500 - 100)  # only the API's, after 100 GB free


def test_a_region_without_a_cdn_price_lists_it_unpriced_rather_than_estimating():
    d = design(catalog(network()), requirements(SITE))
    assert any(u.startswith("(shared): CDN for w0") for u in d.unpriced)
    assert not lines(d, "internet egress")


def test_cache_fill_is_priced_where_the_provider_bills_it():
    gcp = [row(ProductFamily.OBJECT_STORAGE, "gcs-standard", 0.02, Unit.GB_MONTH,
               provider=Provider.GCP, storage_class="standard"),
           *cdn(Provider.GCP)]
    req = requirements(SITE, provider="gcp")
    without = design(catalog(gcp), req)
    assert any("CDN cache fill" in u for u in without.unpriced)
    fill = row(ProductFamily.CDN, "cdn-cache-fill", 0.01, Unit.GB, provider=Provider.GCP,
               dimension="cache_fill")
    (line,) = lines(design(catalog(gcp, fill), req), "CDN cache fill")
    assert line.quantity == pytest.approx(2000 * 0.1)  # the 10% the edge cache misses


def test_a_cdn_that_bills_no_requests_leaves_nothing_unpriced():
    azure = [row(ProductFamily.OBJECT_STORAGE, "blob-hot", 0.02, Unit.GB_MONTH,
                 provider=Provider.AZURE, storage_class="standard"),
             row(ProductFamily.CDN, "azure-cdn-standard-microsoft", 0.081, Unit.GB,
                 provider=Provider.AZURE, tier=(0.0, None), dimension="data")]
    d = design(catalog(azure), requirements(SITE, provider="azure"))
    assert d.unpriced == [] and not lines(d, "CDN requests")
    assert lines(d, "CDN data transfer")[0].quantity == 2000


def test_transfer_above_the_last_tier_the_catalog_prices_is_unpriced_not_dropped():
    """Cloud CDN's listed tiers end at 500 TB a month and the catalog's Azure CDN tiers at
    1 PB; 2 PB of photos a month on Azure priced 1 PB and dropped the rest from the total."""
    capped = [r for r in cdn() if r.tier_end is not None]  # no open last tier
    assets = {"type": "object_storage", "storage_gb": 800, "public": True,
              "egress_gb_per_month": 80000, "requests_per_month": 1_000_000}
    d = design(catalog(network(), capped), requirements(assets))
    data = lines(d, "CDN data transfer")
    assert sum(li.quantity for li in data) == pytest.approx(51200 - 1024)
    assert ("(shared): CDN data transfer (28,800 GB above the catalog's last tier, which ends "
            "at 51,200 GB a month) in aws us-east-1") in d.unpriced
    # with the open last tier all of it is priced and nothing is unpriced
    full = design(CAT, requirements(assets))
    assert sum(li.quantity for li in lines(full, "CDN data transfer")) == \
        pytest.approx(80000 - 1024)
    assert not [u for u in full.unpriced if "CDN" in u]


def test_the_projection_says_when_growth_passes_the_last_tier():
    """Within the last tier in month 1, 10% growth a month passes it in month 4 (40,000 GB x
    1.1^3 = 53,240 > 51,200): the projection's later months leave the rest out, and a
    warning says so."""
    from infra_mind.engine.assess import assess

    capped = [r for r in cdn() if r.tier_end is not None]
    assets = {"type": "object_storage", "storage_gb": 800, "public": True,
              "egress_gb_per_month": 40000, "requests_per_month": 1_000_000}
    grows = requirements(assets, business={"growth_rate_monthly": 0.1, "horizon_months": 12})
    result = assess(grows, catalog(network(), capped))
    assert ("(shared): CDN data transfer passes the catalog's last tier (51,200 GB a month) "
            "in month 4 of the projection; from then on the projection leaves the volume "
            "above it out (the provider quotes it)") in result.warnings
    steady = requirements(assets, business={"growth_rate_monthly": 0.0})
    assert not [w for w in assess(steady, catalog(network(), capped)).warnings
                if "last tier" in w]
