from datetime import date

from infra_mind.catalog.build.quality import (
    merge_newest,
    off_family_rate,
    off_regional_ratio,
    render_report,
)
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
    text = render_report(generated_at=date(2026, 11, 28), rows=rows, dropped=dropped,
                         disagreements=disagreements, inputs=[("libcloud", "abc123")],
                         regions_by_provider={"aws": ["us-east-1"]})
    assert "`abc123`" in text
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
