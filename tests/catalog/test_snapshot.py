import json
from datetime import date

import pytest

from infra_mind.catalog.model import Basis, CatalogError, ProductFamily, Unit
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
    ('{"format": 99}', "not format 2"),
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


def _derived(**over):
    return make_row(basis=Basis.DERIVED, region="eu-west-1", price_usd=0.107,
                    rule="region ratio: us-east-1 price 0.096 x eu-west-1/us-east-1 ratio "
                         "1.1146 of compute m5 (6 prices listed in both)", **over)


def test_a_derived_row_keeps_its_basis_and_rule_through_a_round_trip(tmp_path):
    rows = [make_row(), _derived()]
    path = tmp_path / "snap.json"
    write_snapshot(path, rows, date(2026, 12, 6))
    back = {r.region: r for r in read_snapshot(path).rows}
    assert back["us-east-1"].basis is Basis.LIST and back["us-east-1"].rule == ""
    assert back["eu-west-1"].basis is Basis.DERIVED
    assert back["eu-west-1"].rule == rows[1].rule
    assert back["eu-west-1"].to_dict()["rule"] == rows[1].rule


def test_a_snapshot_file_is_readable_by_everyone(tmp_path):
    # mkstemp creates its file 0600: a snapshot written for a service must stay readable
    path = tmp_path / "snap.json"
    write_snapshot(path, [make_row()], date(2026, 12, 6))
    assert path.stat().st_mode & 0o444 == 0o444


def test_a_format_1_snapshot_still_loads_as_list_prices(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({
        "format": 1, "generated_at": "2026-11-28", "notes": [],
        "sources": [["libcloud", "2025-03-02"]],
        "products": [["aws", "AmazonEC2", "compute", "m5.large", "hour",
                      {"vcpu": 2, "memory_gib": 8.0, "arch": "x86_64"}]],
        "prices": [[0, "us-east-1", "on_demand", 0.096, 0, None, None]]}))
    (row,) = read_snapshot(path).rows
    assert row.price_usd == 0.096 and row.basis is Basis.LIST and row.rule == ""


@pytest.mark.parametrize("edit, message", [
    (lambda doc: doc["prices"][0].__setitem__(7, 5), "rule index is out of range"),
    (lambda doc: doc["prices"][0].__setitem__(3, "cheap"), "malformed|not positive"),
    (lambda doc: doc["prices"][0].__setitem__(3, True), "not positive"),
    (lambda doc: doc["rules"].__setitem__(0, " "), "empty derivation rule"),
    (lambda doc: doc["prices"][0].pop(), "malformed"),
])
def test_a_damaged_format_2_file_fails_with_one_line(tmp_path, edit, message):
    path = tmp_path / "snap.json"
    write_snapshot(path, [_derived()], date(2026, 12, 6))
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(CatalogError, match=message) as info:
        read_snapshot(path)
    assert "\n" not in str(info.value)
