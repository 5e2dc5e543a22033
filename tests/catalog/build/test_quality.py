from datetime import date

from infra_mind.catalog.build.quality import (
    azure_series_check,
    harmonise_specs,
    merge_newest,
    off_family_rate,
    off_regional_ratio,
    tier_check,
)
from infra_mind.catalog.build.report import BuildFacts, SourceEntry, render
from infra_mind.catalog.model import Provider
from tests.factories import make_row

FACTORS = {"m5.large": 4, "m5.xlarge": 8, "m5.2xlarge": 16, "m5.4xlarge": 32}


def m5(sku, price, region="eu-west-1"):
    return make_row(sku=sku, region=region, price_usd=price,
                    attributes={"vcpu": 2, "memory_gib": 8, "arch": "x86_64", "family": "m5"})


def test_sizes_off_the_family_rate_are_dropped():
    rows = [m5("m5.large", 0.107), m5("m5.xlarge", 0.214), m5("m5.2xlarge", 0.4536),
            m5("m5.4xlarge", 0.856)]
    kept, dropped = off_family_rate(rows, FACTORS)
    assert sorted(r.sku for r in kept) == ["m5.4xlarge", "m5.large", "m5.xlarge"]
    assert [d.sku for d in dropped] == ["m5.2xlarge"]
    assert "+6.0%" in dropped[0].reason


def test_the_anchor_is_the_lowest_rate_even_when_most_sizes_are_off():
    # eu-west-1 c5 in libcloud 2025-03-02: most sizes +6.5%, the correct ones lowest.
    rows = [m5("m5.large", 0.096), m5("m5.xlarge", 0.192), m5("m5.2xlarge", 0.409),
            m5("m5.4xlarge", 0.818)]
    kept, dropped = off_family_rate(rows, FACTORS)
    assert sorted(r.sku for r in kept) == ["m5.large", "m5.xlarge"]
    assert len(dropped) == 2


def test_rounding_noise_and_gpu_rows_pass():
    rows = [m5("m5.large", 0.0961), m5("m5.xlarge", 0.192)]
    gpu = make_row(sku="g5.xlarge", price_usd=1.006, attributes={
        "vcpu": 4, "memory_gib": 16, "arch": "x86_64", "gpu_count": 1, "gpu_model": "A10G",
        "gpu_memory_gib": 24, "family": "g5"})
    kept, dropped = off_family_rate([*rows, gpu], {**FACTORS, "g5.xlarge": 8})
    assert len(kept) == 3 and dropped == []


def test_merge_prefers_the_newer_price_and_records_disagreement():
    old = m5("m5.large", 0.101, region="us-east-1")
    new = make_row(price_usd=0.096, as_of=date(2026, 9, 6), source="newer")
    same = make_row(sku="m5.xlarge", price_usd=0.192, as_of=date(2025, 3, 2))
    same_new = make_row(sku="m5.xlarge", price_usd=0.1921, as_of=date(2026, 9, 6))
    old = make_row(price_usd=0.101, as_of=date(2025, 3, 2), source="older")
    rows, disagreements = merge_newest([[old, same], [new, same_new]])
    assert sorted((r.sku, r.price_usd) for r in rows) == [("m5.large", 0.096),
                                                          ("m5.xlarge", 0.1921)]
    assert len(disagreements) == 1
    d = disagreements[0]
    assert (d.kept_price, d.other_price, d.other_source) == (0.096, 0.101, "older")


def test_merge_keeps_the_newer_even_if_given_first():
    new = make_row(price_usd=0.096, as_of=date(2026, 9, 6))
    old = make_row(price_usd=0.101, as_of=date(2025, 3, 2))
    rows, _ = merge_newest([[new], [old]])
    assert [r.price_usd for r in rows] == [0.096]


def test_report_lists_inputs_refusals_and_disagreements():
    rows = [make_row()]
    _, dropped = off_family_rate([m5("m5.large", 0.096), m5("m5.xlarge", 0.25)], FACTORS)
    _, disagreements = merge_newest([[make_row(price_usd=0.1, as_of=date(2025, 1, 1))],
                                     [make_row(as_of=date(2026, 1, 1))]])
    text = render(BuildFacts(
        generated_at=date(2026, 11, 28), rows=rows, dropped=dropped,
        disagreements=disagreements, accuracy=[], withheld=[],
        sources=[SourceEntry("libcloud", "PyPI", "2025-03-02", "abc123", "Apache-2.0")]))
    assert "`abc123`" in text and "2025-03-02" in text
    assert "m5.xlarge" in text and "wrongly scraped" in text
    assert "| aws m5.large us-east-1 on_demand | 0.096" in text


def gpu(sku, price, region):
    return make_row(sku=sku, region=region, price_usd=price, attributes={
        "vcpu": 4, "memory_gib": 16, "arch": "x86_64", "gpu_count": 1, "gpu_model": "T4",
        "gpu_memory_gib": 16, "family": "g4dn"})


def test_gpu_sizes_off_the_regional_ratio_are_dropped():
    anchors = {"g4dn.xlarge": 0.526, "g4dn.2xlarge": 0.752, "g4dn.4xlarge": 1.204}
    rows = [gpu("g4dn.xlarge", 0.584, "eu-west-1"), gpu("g4dn.2xlarge", 0.835, "eu-west-1"),
            gpu("g4dn.4xlarge", 1.417, "eu-west-1"),  # 1.204 * 1.11 = 1.336: +6% off
            gpu("g4dn.xlarge", 0.526, "us-east-1"), gpu("g4dn.8xlarge", 2.5, "eu-west-1")]
    kept, dropped = off_regional_ratio(rows, anchors, "us-east-1")
    assert [d.sku for d in dropped] == ["g4dn.4xlarge"]
    assert "+6.0%" in dropped[0].reason or "+6.1%" in dropped[0].reason
    assert {(r.sku, r.region) for r in kept} == {
        ("g4dn.xlarge", "eu-west-1"), ("g4dn.2xlarge", "eu-west-1"),
        ("g4dn.xlarge", "us-east-1"), ("g4dn.8xlarge", "eu-west-1")}


def test_a_newer_tiered_price_replaces_an_older_flat_one_whole():
    from infra_mind.catalog.model import ProductFamily, Unit

    def blob(price, as_of, t0=None, t1=None, source="s"):
        return make_row(sku="blob-hot-lrs", product_family=ProductFamily.OBJECT_STORAGE,
                        unit=Unit.GB_MONTH, attributes={"storage_class": "standard"},
                        price_usd=price, as_of=as_of, tier_start=t0, tier_end=t1, source=source)

    flat = blob(0.018, date(2026, 5, 4), source="old")
    tiers = [blob(0.0208, date(2026, 10, 3), 0.0, 51200.0, "new"),
             blob(0.019968, date(2026, 10, 3), 51200.0, None, "new")]
    rows, disagreements = merge_newest([[flat], tiers])
    assert sorted(r.price_usd for r in rows) == [0.019968, 0.0208]
    assert [(d.kept_price, d.other_price) for d in disagreements] == [(0.0208, 0.018)]


def azure(sku, price, vcpu, memory, family="Dasv5", region="eastus", source="k"):
    return make_row(provider=Provider.AZURE, service="Virtual Machines", sku=sku, region=region,
                    price_usd=price, source=source,
                    attributes={"vcpu": vcpu, "memory_gib": memory, "arch": "x86_64",
                                "family": family})


def test_an_azure_size_priced_above_its_series_linux_rate_is_refused():
    # Karpenter's eastus Dasv5 (2026-06-18): D2as_v5 carries the Windows meter 0.178, while
    # D4as_v5 and D8as_v5 sit on the Linux rate of 0.043 per vCPU-hour.
    rows = [azure("Standard_D2as_v5", 0.178, 2, 8), azure("Standard_D4as_v5", 0.172, 4, 16),
            azure("Standard_D8as_v5", 0.344, 8, 32)]
    kept, dropped = azure_series_check(rows)
    assert sorted(r.sku for r in kept) == ["Standard_D4as_v5", "Standard_D8as_v5"]
    assert [d.sku for d in dropped] == ["Standard_D2as_v5"]
    assert "+107%" in dropped[0].reason and "Windows" in dropped[0].reason


def test_b_series_is_checked_per_gib_and_a_lone_size_passes():
    # B-series prices follow memory: B2ts_v2 (1 GiB) 0.0104 and B2s_v2 (8 GiB) 0.0832 agree.
    rows = [azure("Standard_B2ts_v2", 0.0104, 2, 1, family="Bs"),
            azure("Standard_B2s_v2", 0.0832, 2, 8, family="Bs"),
            azure("Standard_E2s_v5", 0.126, 2, 16, family="Esv5")]
    kept, dropped = azure_series_check(rows)
    assert len(kept) == 3 and dropped == []


def test_a_tiered_price_that_rises_with_volume_is_refused_whole():
    from infra_mind.catalog.model import ProductFamily, Unit

    def egress(t0, t1, price, region):
        return make_row(provider=Provider.GCP, service="Compute Engine", sku="internet-egress",
                        product_family=ProductFamily.EGRESS, unit=Unit.GB, attributes={},
                        region=region, tier_start=t0, tier_end=t1, price_usd=price)

    # Cyclenerd 2026-07-30 asia-northeast1 premium egress reads 0.085, 0.12, 0.085
    bad = [egress(0.0, 1024.0, 0.085, "asia-northeast1"),
           egress(1024.0, 10240.0, 0.12, "asia-northeast1"),
           egress(10240.0, None, 0.085, "asia-northeast1")]
    good = [egress(0.0, 1024.0, 0.12, "us-central1"), egress(1024.0, 10240.0, 0.11, "us-central1")]
    kept, dropped = tier_check(bad + good)
    assert {r.region for r in kept} == {"us-central1"} and len(kept) == 2
    assert len(dropped) == 1 and "0.085, 0.12, 0.085" in dropped[0].reason


def test_specs_of_a_machine_follow_its_newest_source():
    # libcloud's GCE rates gave n2-highmem-128 1,024 GiB (8 per vCPU); gcloud says 864
    def n2(region, memory, as_of, source):
        return make_row(provider=Provider.GCP, service="Compute Engine", sku="n2-highmem-128",
                        region=region, as_of=as_of, source=source, price_usd=7.7,
                        attributes={"vcpu": 128, "memory_gib": memory, "arch": "x86_64"})

    rows, changed = harmonise_specs([n2("us-central1", 864.0, date(2026, 7, 30), "cyclenerd"),
                                     n2("europe-west9", 1024.0, date(2025, 3, 2), "libcloud")])
    assert {r.attributes["memory_gib"] for r in rows} == {864.0}
    assert len(changed) == 1 and "1024.0 -> 864.0" in changed[0]
