"""The derivation rules: R1 region ratio, R2 commitment ratio, and their leave-one-out measure."""

from __future__ import annotations

import re
from datetime import date

import pytest

from infra_mind.catalog.build.derive import (
    Accuracy,
    derive,
    measure_commitment_ratio,
    ratio_families,
)
from infra_mind.catalog.model import (
    Basis,
    ProductFamily,
    Provider,
    PurchaseOption,
    Unit,
)
from tests.factories import make_row

AZ = Provider.AZURE


def vm(sku, region, price, family="Dsv5", vcpu=2, as_of=date(2026, 6, 18), source="karpenter"):
    return make_row(provider=AZ, service="Virtual Machines", sku=sku, region=region,
                    price_usd=price, as_of=as_of, source=source,
                    attributes={"vcpu": vcpu, "memory_gib": vcpu * 4.0, "arch": "x86_64",
                                "family": family})


def pg(sku, region, price, as_of=date(2025, 7, 7), vcpu=None):
    vcpu = vcpu or int(re.search(r"_[A-Z](\d+)", sku).group(1))
    return make_row(provider=AZ, service="Azure Database for PostgreSQL", sku=sku,
                    region=region, price_usd=price, as_of=as_of, source="golden",
                    product_family=ProductFamily.DATABASE, unit=Unit.HOUR,
                    attributes={"engine": "postgres", "deployment": "single", "vcpu": vcpu,
                                "memory_gib": vcpu * 4})


def dsv5(region, ratio):
    return [vm("Standard_D2s_v5", region, round(0.096 * ratio, 6)),
            vm("Standard_D4s_v5", region, round(0.192 * ratio, 6), vcpu=4),
            vm("Standard_D8s_v5", region, round(0.384 * ratio, 6), vcpu=8)]


def test_a_missing_service_price_takes_the_compute_ratio_and_says_so():
    rows = [*dsv5("eastus", 1.0), *dsv5("westeurope", 1.2), pg("Standard_D2ds_v5", "eastus", 0.2)]
    out = derive(rows)
    (row,) = [r for r in out.rows if r.region == "westeurope"
              and r.product_family is ProductFamily.DATABASE and r.sku == "Standard_D2ds_v5"]
    assert row.price_usd == pytest.approx(0.24)
    assert row.basis is Basis.DERIVED
    assert row.rule.startswith("region ratio, compute fallback: eastus price 0.2 x "
                               "westeurope/eastus ratio 1.2000 of Dsv5 on-demand")
    assert "no Azure Database for PostgreSQL database postgres price is listed" in row.rule
    # the oldest input's date, and every input's source
    assert row.as_of == date(2025, 7, 7)
    assert row.source == "derived from: golden; karpenter"


def test_a_list_price_always_wins_over_a_derived_one():
    rows = [*dsv5("eastus", 1.0), *dsv5("westeurope", 1.2),
            pg("Standard_D2ds_v5", "eastus", 0.2), pg("Standard_D2ds_v5", "westeurope", 0.31)]
    out = derive(rows)
    assert not [r for r in out.rows if r.region == "westeurope"
                and r.product_family is ProductFamily.DATABASE and r.sku == "Standard_D2ds_v5"]


def test_the_service_ratio_is_preferred_to_the_compute_ratio():
    # two database prices listed in both regions: their ratio (1.5), not Dsv5's (1.2)
    rows = [*dsv5("eastus", 1.0), *dsv5("westeurope", 1.2),
            pg("Standard_D2ds_v5", "eastus", 0.2), pg("Standard_D2ds_v5", "westeurope", 0.3),
            pg("Standard_D4ds_v5", "eastus", 0.4), pg("Standard_D4ds_v5", "westeurope", 0.6),
            pg("Standard_B1ms", "eastus", 0.02)]
    (row,) = [r for r in derive(rows).rows if r.sku == "Standard_B1ms"
              and r.region == "westeurope"]
    assert row.price_usd == pytest.approx(0.03)
    assert row.rule.startswith("region ratio: eastus price 0.02 x westeurope/eastus ratio "
                               "1.5000 of Azure Database for PostgreSQL database postgres")


def test_compute_is_derived_only_where_the_size_is_known_to_be_sold():
    # Standard_D2as_v5's westeurope price was refused (a Windows meter): sold there, derived.
    # Standard_D4as_v5 has no price in westeurope at all: not derived (perhaps not offered).
    rows = [*dsv5("eastus", 1.0), *dsv5("westeurope", 1.2),
            vm("Standard_D2as_v5", "eastus", 0.086, family="Dasv5"),
            vm("Standard_D4as_v5", "eastus", 0.172, family="Dasv5", vcpu=4)]
    out = derive(rows, refused={("azure", "standard_d2as_v5", "westeurope")})
    derived = {(r.sku, r.region) for r in out.rows if r.product_family is ProductFamily.COMPUTE}
    assert ("Standard_D2as_v5", "westeurope") in derived
    assert ("Standard_D4as_v5", "westeurope") not in derived


def ec2(sku, region, price, option=PurchaseOption.ON_DEMAND, family="m5", source="qp"):
    return make_row(sku=sku, region=region, price_usd=price, purchase_option=option,
                    source=source, attributes={"vcpu": 2, "memory_gib": 8.0,
                                               "arch": "x86_64", "family": family})


def test_commitment_ratio_derives_ec2_commitments_from_the_listed_ones():
    listed = []
    for i, region in enumerate(("us-east-1", "eu-west-1", "ap-south-1")):
        od = 1.0 + i
        listed += [ec2("x2iedn.32xlarge", region, od, family="x2iedn"),
                   ec2("x2iedn.32xlarge", region, round(od * 0.6, 6),
                       PurchaseOption.RESERVED_1Y, "x2iedn", "vantage")]
    rows = [*listed, ec2("m5.large", "eu-west-1", 0.107)]
    out = derive(rows)
    (ri,) = [r for r in out.rows if r.sku == "m5.large"]
    assert ri.purchase_option is PurchaseOption.RESERVED_1Y
    assert ri.price_usd == pytest.approx(0.0642)
    assert "commitment ratio: on-demand 0.107 x reserved_1y/on-demand ratio 0.6000" in ri.rule
    assert not [r for r in out.rows if r.purchase_option is PurchaseOption.RESERVED_3Y]


def test_leave_one_out_hides_each_point_and_reports_median_and_p90():
    # three points at ratio 0.6 and one at 0.7: hiding the 0.7 one predicts 0.6 (14.3% off),
    # hiding a 0.6 one predicts the median of (0.6, 0.6, 0.7) = 0.6 (0% off)
    rows = []
    for i, ratio in enumerate((0.6, 0.6, 0.6, 0.7)):
        sku = f"m5.{i}xlarge"
        rows += [ec2(sku, "us-east-1", 1.0),
                 ec2(sku, "us-east-1", ratio, PurchaseOption.RESERVED_1Y)]
    (acc,) = measure_commitment_ratio(rows)
    assert acc.n == 4
    assert sorted(round(e, 1) for e in acc.errors_pct) == [0.0, 0.0, 0.0, 14.3]
    assert acc.median_pct == 0.0 and acc.p90_pct == pytest.approx(14.2857, rel=1e-3)
    assert not acc.poor


def test_a_poor_rule_is_named_poor():
    acc = Accuracy("R1 compute fallback", "nat_gateway", [1.0, 2.0, 30.0, 40.0])
    assert acc.poor and acc.p90_pct == 40.0


def test_ratio_families_go_from_the_instance_family_to_the_whole_service():
    rds = make_row(service="AmazonRDS", sku="db.m6g.large", product_family=ProductFamily.DATABASE,
                   attributes={"engine": "postgres", "deployment": "single", "vcpu": 2,
                               "memory_gib": 8, "family": "db.m6g"})
    assert ratio_families(rds) == [
        (Provider.AWS, "AmazonRDS", ProductFamily.DATABASE, "postgres", "db.m6g"),
        (Provider.AWS, "AmazonRDS", ProductFamily.DATABASE, "postgres")]
    assert ratio_families(make_row(attributes={"vcpu": 2, "memory_gib": 8, "arch": "x86_64",
                                               "family": "m5"})) == [
        (Provider.AWS, "compute", "m5")]


def reservation(sku, region, od, ratio, option=PurchaseOption.RESERVED_1Y, family="Dsv5",
                vcpu=2):
    """An Azure machine's on-demand row and its listed reservation row (pricing-page data)."""
    return [vm(sku, region, od, family=family, vcpu=vcpu, as_of=date(2026, 1, 26),
               source="page"),
            vm(sku, region, round(od * ratio, 6), family=family, vcpu=vcpu,
               as_of=date(2026, 1, 26), source="page").with_price(
                round(od * ratio, 6), purchase_option=option)]


def poland(ratio_dsv5=0.59, ratio_esv5=0.65):
    return [*reservation("Standard_D2s_v5", "polandcentral", 0.115, ratio_dsv5),
            *reservation("Standard_D4s_v5", "polandcentral", 0.23, ratio_dsv5, vcpu=4),
            *reservation("Standard_E2s_v5", "polandcentral", 0.152, ratio_esv5, family="Esv5"),
            *reservation("Standard_E4s_v5", "polandcentral", 0.304, ratio_esv5, family="Esv5",
                         vcpu=4)]


def test_azure_commitments_take_their_series_ratio_from_a_reference_region():
    rows = [vm("Standard_D8s_v5", "eastus", 0.384, vcpu=8)]
    out = derive(rows, reference=poland())
    (ri,) = [r for r in out.rows if r.purchase_option is PurchaseOption.RESERVED_1Y]
    assert (ri.sku, ri.region, ri.basis) == ("Standard_D8s_v5", "eastus", Basis.DERIVED)
    assert ri.price_usd == pytest.approx(0.384 * 0.59)
    assert ri.rule == ("commitment ratio: on-demand 0.384 x reserved_1y/on-demand ratio 0.5900 "
                       "(median of 2 listed Azure Reserved VM Instance rates of Dsv5 in "
                       "polandcentral)")
    assert ri.attributes["commitment"].startswith("Azure Reserved VM Instance")
    assert ri.as_of == date(2026, 1, 26) and ri.source == "derived from: karpenter; page"
    # the reference region's rows feed the ratio; they are never derived into or listed
    assert not [r for r in out.rows if r.region == "polandcentral"]


def test_a_series_without_listed_points_takes_the_families_median_and_its_error():
    # Fsv2 has no point: the median of Dsv5's (0.59) and Esv5's (0.65) medians, 0.62
    rows = [vm("Standard_F2s_v2", "eastus", 0.0846, family="Fsv2")]
    (ri,) = derive(rows, reference=poland()).rows
    assert ri.price_usd == pytest.approx(0.0846 * 0.62)
    assert ri.rule.startswith("commitment ratio: on-demand 0.0846 x reserved_1y/on-demand "
                              "ratio 0.6200 (median of the median Azure Reserved VM Instance "
                              "rates of 2 listed families (Dsv5, Esv5) in polandcentral; Fsv2 "
                              "has 0 listed; this fallback's leave-one-out error: median")


def test_commitment_ratios_never_cross_providers():
    # EC2 RI points give no Azure commitment, and Azure reservation points no EC2 one
    ec2_points = []
    for region, od in (("us-east-1", 1.0), ("eu-west-1", 1.1)):
        ec2_points += [ec2("x2iedn.32xlarge", region, od, family="x2iedn"),
                       ec2("x2iedn.32xlarge", region, round(od * 0.6, 6),
                           PurchaseOption.RESERVED_1Y, "x2iedn", "vantage")]
    out = derive([*ec2_points, vm("Standard_D8s_v5", "eastus", 0.384, vcpu=8)])
    assert not [r for r in out.rows if r.provider is AZ]
    out = derive([ec2("m5.large", "eu-west-1", 0.107)], reference=poland())
    assert not [r for r in out.rows if r.provider is Provider.AWS]


def test_the_family_fallback_is_measured_with_each_point_s_own_family_left_out():
    # two points a family: hiding one leaves its family one point, under the two a family
    # ratio needs, so as applied the point takes the median of 0.65 and its twin's 0.59
    # (0.62: 5.1% off a Dsv5 point, 4.6% off an Esv5 one); by the family fallback it takes
    # the other family's median only (0.65 for Dsv5: 10.2% off; 0.59 for Esv5: 9.2% off)
    applied, fallback = measure_commitment_ratio(poland())
    assert (applied.rule, fallback.rule) == ("R2 commitment ratio", "R2 family fallback")
    assert applied.group == fallback.group == "azure Virtual Machines reserved_1y"
    assert sorted(round(e, 1) for e in applied.errors_pct) == [4.6, 4.6, 5.1, 5.1]
    assert sorted(round(e, 1) for e in fallback.errors_pct) == [9.2, 9.2, 10.2, 10.2]


def test_r3_prices_a_flexible_server_size_by_its_series_vcore_price():
    # D2ds_v5 listed in eastus, derived by R1 in westeurope: every other Ddsv5 size follows
    rows = [*dsv5("eastus", 1.0), *dsv5("westeurope", 1.2), pg("Standard_D2ds_v5", "eastus", 0.2)]
    out = derive(rows)
    sizes = {(r.sku, r.region): r for r in out.rows if r.rule.startswith("vCore scaling")}
    d16 = sizes[("Standard_D16ds_v5", "eastus")]
    assert d16.price_usd == pytest.approx(1.6)  # 0.2 / 2 vCores x 16
    assert (d16.attributes["vcpu"], d16.attributes["memory_gib"]) == (16, 64)
    assert d16.basis is Basis.DERIVED and d16.source == "derived from: golden"
    assert d16.rule == ("vCore scaling: Standard_D2ds_v5 eastus price 0.2 (list) / 2 vCores x 16")
    away = sizes[("Standard_D16ds_v5", "westeurope")]
    assert away.price_usd == pytest.approx(1.92)  # from R1's 0.24, and it says so
    assert "that price by region ratio, compute fallback" in away.rule
    assert ("Standard_D2ds_v5", "eastus") not in sizes  # listed: never derived


def test_r3_never_replaces_a_listed_size_and_prefers_a_listed_base():
    rows = [*dsv5("eastus", 1.0), pg("Standard_D2ds_v5", "eastus", 0.2),
            pg("Standard_D16ds_v5", "eastus", 1.5)]
    out = derive(rows)
    derived = {r.sku: r for r in out.rows if r.rule.startswith("vCore scaling")}
    assert "Standard_D16ds_v5" not in derived
    # the base is the listed size with the most vCores: 1.5 / 16 x 32
    assert derived["Standard_D32ds_v5"].price_usd == pytest.approx(3.0)


def test_r3_is_measured_leave_one_out_over_listed_sizes():
    from infra_mind.catalog.build.derive import measure_vcore_scaling

    listed = [pg("Standard_D2ds_v5", "eastus", 0.2), pg("Standard_D16ds_v5", "eastus", 1.8)]
    (accuracy,) = measure_vcore_scaling(listed)
    # 0.2/2x16 = 1.6 against 1.8 (11.1%); 1.8/16x2 = 0.225 against 0.2 (12.5%)
    assert sorted(round(e, 1) for e in accuracy.errors_pct) == [11.1, 12.5]
