from datetime import date

import pytest

from infra_mind.catalog.model import CatalogError, ProductFamily, Unit
from infra_mind.catalog.snapshot import read_snapshot, snapshot_to_json, write_snapshot
from tests.factories import make_row


def test_round_trip_keeps_every_field(tmp_path):
    rows = [
        make_row(),
        make_row(region="eu-west-1", price_usd=0.107, as_of=date(2025, 3, 2), source="libcloud"),
        make_row(product_family=ProductFamily.EGRESS, unit=Unit.GB, sku="internet-egress",
                 attributes={"free_gb_per_month": 100}, tier_start=0.0, tier_end=10240.0,
                 price_usd=0.09),
        make_row(product_family=ProductFamily.EGRESS, unit=Unit.GB, sku="internet-egress",
                 attributes={"free_gb_per_month": 100}, tier_start=10240.0, tier_end=None,
                 price_usd=0.085),
    ]
    path = tmp_path / "snap.json"
    write_snapshot(path, rows, date(2026, 11, 28), notes=["test"])
    snap = read_snapshot(path)
    assert snap.generated_at == date(2026, 11, 28)
    assert snap.notes == ["test"]
    assert sorted(snap.rows, key=repr) == sorted(rows, key=repr)


def test_output_is_deterministic_whatever_the_input_order():
    rows = [make_row(), make_row(region="eu-west-1"), make_row(sku="m5.xlarge", price_usd=0.192)]
    one = snapshot_to_json(rows, date(2026, 1, 1))
    two = snapshot_to_json(list(reversed(rows)), date(2026, 1, 1))
    assert one == two


@pytest.mark.parametrize("content, message", [
    ("not json", "unreadable"),
    ('{"format": 99}', "not format 1"),
    ('{"format": 1, "generated_at": "2026-01-01", "sources": [], "products": []}', "malformed"),
])
def test_broken_files_fail_with_one_line(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CatalogError, match=message) as info:
        read_snapshot(path)
    assert "\n" not in str(info.value)


def test_a_zero_price_in_a_file_is_refused_on_load(tmp_path):
    path = tmp_path / "zero.json"
    write_snapshot(path, [make_row()], date(2026, 1, 1))
    path.write_text(path.read_text().replace("0.096", "0.0"))
    with pytest.raises(CatalogError, match="not positive"):
        read_snapshot(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(CatalogError, match="no catalog snapshot at"):
        read_snapshot(tmp_path / "absent.json")
