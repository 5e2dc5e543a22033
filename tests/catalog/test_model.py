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
