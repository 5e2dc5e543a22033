"""Coverage of the bundled snapshot (issue #11): every kind of price the engine needs, in
every region of the catalog, each with its source and date, and derived prices labelled.

The acceptance of the issue: managed PostgreSQL and MySQL (single and HA), a managed cache,
CDN, NAT, a load balancer, block and object storage and internet egress answer on each
provider in a US, an EU and an APAC region.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest

from infra_mind.catalog.model import Basis, PriceRow, ProductFamily, Provider, PurchaseOption
from infra_mind.catalog.regions import REGIONS, regions_of
from infra_mind.catalog.store import Catalog

F = ProductFamily
#: One US, one EU and one APAC region per provider.
REGION_TRIPLES = {
    "aws": ("us-east-1", "eu-west-1", "ap-southeast-1"),
    "azure": ("eastus", "westeurope", "japaneast"),
    "gcp": ("us-central1", "europe-west1", "asia-southeast1"),
}


def _priced(catalog: Catalog, provider: str, region: str, family: ProductFamily,
            **attrs: str) -> list[PriceRow]:
    return [r for r in catalog.family_rows(provider, region, family)
            if all(str(r.attributes.get(k)) == v for k, v in attrs.items())]


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp"])
@pytest.mark.parametrize("index", [0, 1, 2], ids=["us", "eu", "apac"])
def test_managed_services_answer_in_a_us_eu_and_apac_region(bundled, provider, index):
    region = REGION_TRIPLES[provider][index]
    for engine in ("postgres", "mysql"):
        assert _priced(bundled, provider, region, F.DATABASE, engine=engine,
                       deployment="single"), (engine, "single")
        # HA: an HA price, or (Azure) the single price the engine doubles for the standby
        assert (_priced(bundled, provider, region, F.DATABASE, engine=engine, deployment="ha")
                or provider == "azure"), (engine, "ha")
        assert _priced(bundled, provider, region, F.DATABASE_STORAGE, engine=engine)
        assert _priced(bundled, provider, region, F.DATABASE_STORAGE, engine=engine,
                       dimension="backup"), (engine, "backup")
    assert _priced(bundled, provider, region, F.CACHE)
    assert _priced(bundled, provider, region, F.NAT_GATEWAY, dimension="hourly")
    assert _priced(bundled, provider, region, F.LOAD_BALANCER, dimension="hourly")
    assert _priced(bundled, provider, region, F.BLOCK_STORAGE)
    assert _priced(bundled, provider, region, F.OBJECT_STORAGE, storage_class="standard")
    assert _priced(bundled, provider, region, F.EGRESS)
    assert _priced(bundled, provider, region, F.KUBERNETES)
    assert _priced(bundled, provider, region, F.CDN, dimension="data")


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp"])
def test_every_region_has_every_engine_kind(bundled, provider):
    kinds = [(F.COMPUTE, {}), (F.DATABASE, {"engine": "postgres", "deployment": "single"}),
             (F.DATABASE, {"engine": "mysql", "deployment": "single"}),
             (F.DATABASE_STORAGE, {}), (F.CACHE, {}), (F.LOAD_BALANCER, {"dimension": "hourly"}),
             (F.NAT_GATEWAY, {"dimension": "hourly"}), (F.BLOCK_STORAGE, {}),
             (F.OBJECT_STORAGE, {"storage_class": "standard"}),
             (F.OBJECT_STORAGE, {"storage_class": "infrequent"}), (F.EGRESS, {}),
             (F.KUBERNETES, {})]
    missing = [(r.code, fam.value, attrs) for r in regions_of(provider) for fam, attrs in kinds
               if not _priced(bundled, provider, r.code, fam, **attrs)]
    assert missing == []


def test_the_acceptance_lookup_answers_with_source_and_date(bundled):
    # the example: infra-mind catalog price aws db.m6g.large --region eu-west-1
    (row,) = bundled.price("aws", "db.m6g.large", "eu-west-1",
                           attributes={"engine": "postgres", "deployment": "single"})
    assert row.basis is Basis.LIST and row.as_of.year >= 2024 and "coroot" in row.source
    assert row.attributes["vcpu"] == 2 and row.attributes["memory_gib"] == 8


def test_azure_cdn_is_listed_in_every_region_at_its_billing_zone_tiers(bundled):
    # Azure bills CDN data by the zone of the edge serving the viewers (Zone 1 North America
    # and Europe, 2 Asia Pacific, 3 South America, 4 Australia, 5 India): each region has
    # its home zone's tiers, listed, contiguous from 0 GB and cheaper with volume
    zones: dict[str, set[str]] = {}
    for region in regions_of("azure"):
        rows = sorted(_priced(bundled, "azure", region.code, F.CDN, dimension="data"),
                      key=lambda r: r.tier_start or 0.0)
        assert rows and all(r.basis is Basis.LIST for r in rows), region.code
        assert rows[0].tier_start == 0.0
        assert all(a.tier_end == b.tier_start and b.price_usd < a.price_usd
                   for a, b in pairwise(rows)), region.code
        (zone,) = {r.attributes["edge_geography"] for r in rows}
        zones.setdefault(zone.split(" (")[0], set()).add(region.code)
    assert zones["Zone 2"] == {"southeastasia", "japaneast"}
    assert (zones["Zone 3"], zones["Zone 4"], zones["Zone 5"]) == (
        {"brazilsouth"}, {"australiaeast"}, {"centralindia"})
    assert len(zones["Zone 1"]) == 10


def test_derived_rows_are_labelled_and_never_shadow_a_list_price(bundled):
    cells = Counter()
    for row in bundled:
        if row.basis is Basis.DERIVED:
            assert row.rule.startswith(("region ratio", "commitment ratio", "vCore scaling")), \
                row
            assert row.source.startswith("derived from: "), row
        else:
            assert row.rule == "", row
        cells[(row.provider, row.sku.lower(), row.region, row.purchase_option, row.variant,
               row.tier_start)] += 1
    assert [c for c, n in cells.items() if n > 1] == []
    assert sum(1 for r in bundled if r.basis is Basis.DERIVED) > 0


def test_spot_is_never_derived(bundled):
    assert not [r for r in bundled if r.purchase_option is PurchaseOption.SPOT
                and r.basis is Basis.DERIVED]


def test_commitments_for_all_three_providers_where_a_dated_source_allows(bundled):
    # GCP: every machine's CUD is listed; AWS: RIs listed for three families, the rest
    # derived (R2); Azure: reservations are listed for polandcentral only (a reference-only
    # region, never in the snapshot), so every covered region's rate is derived from them.
    by = Counter((r.provider.value, r.basis.value) for r in bundled.rows(family="compute")
                 if r.purchase_option in (PurchaseOption.RESERVED_1Y, PurchaseOption.RESERVED_3Y))
    assert by[("gcp", "list")] > 1000 and by[("aws", "list")] >= 30
    assert by[("aws", "derived")] > 1000
    assert by[("azure", "list")] == 0 and by[("azure", "derived")] > 1000


def test_azure_commitments_are_derived_from_azure_reservations_only(bundled):
    for option, ratio in ((PurchaseOption.RESERVED_1Y, 0.59), (PurchaseOption.RESERVED_3Y, 0.37)):
        (od,) = bundled.price("azure", "Standard_D2s_v5", "eastus")
        (ri,) = bundled.lookup(Provider.AZURE, "Standard_D2s_v5", "eastus", option)
        assert ri.basis is Basis.DERIVED
        assert ri.price_usd == pytest.approx(od.price_usd * ratio, rel=1e-3)
        assert "Azure Reserved VM Instance rates of Dsv5 in polandcentral" in ri.rule
        assert "sstybel/azure-vm-price-importer" in ri.source
        assert ri.attributes["commitment"].startswith("Azure Reserved VM Instance")
    # every Azure commitment row comes from Azure inputs only
    for r in bundled.rows(family="compute"):
        if r.provider is Provider.AZURE and r.purchase_option is not PurchaseOption.ON_DEMAND \
                and r.purchase_option is not PurchaseOption.SPOT:
            assert r.rule.startswith("commitment ratio") and "Azure Reserved" in r.rule, r


def test_the_three_named_conflicts_are_settled_by_the_dated_sources(bundled):
    # Cyclenerd pricing.yml (2026-07-30) and cloudpilot (2026-08-03): 0.055766, not libcloud's
    # 0.1015 (2025-03-02, asia-south2's rate)
    (n2d,) = bundled.price("gcp", "n2d-standard-2", "asia-south1")
    assert n2d.price_usd == pytest.approx(0.055766) and n2d.as_of.year == 2026
    # Karpenter's Azure table (2026-06-18): D2as_v4 0.0622 and E2as_v4 0.08 in centralindia
    assert bundled.price("azure", "Standard_D2as_v4", "centralindia")[0].price_usd == 0.0622
    assert bundled.price("azure", "Standard_E2as_v4", "centralindia")[0].price_usd == 0.08
    # gcloud machine-types list / Cyclenerd: n2-highmem-128 has 864 GiB, in every row
    memory = {r.attributes["memory_gib"] for r in bundled if r.sku == "n2-highmem-128"}
    assert memory == {864.0}


def test_every_region_of_the_table_is_priced(bundled):
    priced = {(r.provider, r.region) for r in bundled}
    assert priced == set(REGIONS)
