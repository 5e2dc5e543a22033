import pytest

from infra_mind.catalog.model import CatalogError, ProductFamily, Unit
from tests.factories import make_row


def test_a_sound_row_builds_and_serialises():
    row = make_row()
    doc = row.to_dict()
    assert doc["price_usd"] == 0.096
    assert doc["as_of"] == "2026-09-06"
    assert doc["attributes"]["vcpu"] == 2
    assert "tier_start" not in doc


@pytest.mark.parametrize("price", [0.0, -0.01, float("nan"), float("inf")])
def test_zero_negative_and_non_finite_prices_are_refused(price):
    with pytest.raises(CatalogError, match="price_usd"):
        make_row(price_usd=price)


def test_unsourced_row_is_refused():
    with pytest.raises(CatalogError, match="no source"):
        make_row(source="  ")


def test_compute_needs_specs_and_gpus_need_gpu_attributes():
    with pytest.raises(CatalogError, match="memory_gib"):
        make_row(attributes={"vcpu": 2, "arch": "x86_64"})
    with pytest.raises(CatalogError, match="gpu_model"):
        make_row(attributes={"vcpu": 4, "memory_gib": 16, "arch": "x86_64", "gpu_count": 1,
                             "gpu_memory_gib": 24})


def test_compute_is_priced_per_hour():
    with pytest.raises(CatalogError, match="per GB-month"):
        make_row(unit=Unit.GB_MONTH)


def test_tier_bounds_must_ascend():
    with pytest.raises(CatalogError, match="tier_end"):
        make_row(product_family=ProductFamily.EGRESS, unit=Unit.GB, sku="internet-egress",
                 attributes={}, tier_start=100.0, tier_end=100.0)


def test_attributes_are_read_only():
    row = make_row()
    with pytest.raises(TypeError):
        row.attributes["vcpu"] = 64  # type: ignore[index]


def test_a_derived_price_must_name_its_rule_and_a_list_price_must_not():
    from infra_mind.catalog.model import Basis

    with pytest.raises(CatalogError, match="without its rule"):
        make_row(basis=Basis.DERIVED)
    with pytest.raises(CatalogError, match="list price with a derivation rule"):
        make_row(rule="region ratio: ...")
    with pytest.raises(CatalogError, match="neither list nor derived"):
        make_row(basis="estimated")
    row = make_row(basis="derived", rule="commitment ratio: on-demand 0.096 x 0.6153")
    assert row.is_derived and row.to_dict()["basis"] == "derived"
    assert row.to_dict()["rule"].startswith("commitment ratio")
    assert "rule" not in make_row().to_dict()


def test_rows_are_immutable():
    row = make_row()
    with pytest.raises(AttributeError):
        row.price_usd = 1.0  # type: ignore[misc]


def test_n2_highmem_128_has_864_gib_not_the_per_vcpu_rule():
    # gcloud compute machine-types list (Cyclenerd tools/machinetypes.csv @8c32d22, 2026-07-01)
    from infra_mind.catalog.gcp_machines import machine_shapes

    shapes = {s.name: s for s in machine_shapes()}
    assert shapes["n2-highmem-128"].memory_gib == 864.0
    assert shapes["n2-highmem-96"].memory_gib == 768.0
