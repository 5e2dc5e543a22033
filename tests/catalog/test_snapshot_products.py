"""A snapshot's products are read by dictionary lookups, with the checked loop as the way
out: every bad product is refused with the message the loop alone gave, the first bad
one in file order."""

from __future__ import annotations

import json
from datetime import date

import pytest

from infra_mind.catalog.model import CatalogError, ProductFamily, Provider, Unit
from infra_mind.catalog.snapshot import read_snapshot, write_snapshot
from tests.factories import make_row

XLARGE = {"vcpu": 4, "memory_gib": 16.0, "arch": "x86_64"}


def set_field(product: int, field: int, value):
    return lambda doc: doc["products"][product].__setitem__(field, value)


@pytest.mark.parametrize("edit, malformed", [
    (set_field(1, 0, "ibm"), "ValueError(\"'ibm' is not a valid Provider\")"),
    (set_field(1, 0, ["aws"]), "ValueError(\"['aws'] is not a valid Provider\")"),
    (set_field(1, 2, "quantum"), "ValueError(\"'quantum' is not a valid ProductFamily\")"),
    (set_field(1, 4, "day"), "ValueError(\"'day' is not a valid Unit\")"),
    (set_field(1, 5, [1]), "TypeError(\"attributes of 'm5.xlarge' are not an object\")"),
    # a text passes for a mapping where MappingProxyType is asked: the check must say no
    (set_field(1, 5, "vcpu"), "TypeError(\"attributes of 'm5.xlarge' are not an object\")"),
    (set_field(1, 5, None), "TypeError(\"attributes of 'm5.xlarge' are not an object\")"),
    (lambda doc: doc["products"][1].pop(),
     "ValueError('not enough values to unpack (expected 6, got 5)')"),
    (lambda doc: doc["products"].__setitem__(1, 7),
     "TypeError('cannot unpack non-iterable int object')"),
    # two bad products: the first in the file is named
    (lambda doc: (set_field(1, 0, "ibm")(doc), set_field(0, 5, "x")(doc)),
     "TypeError(\"attributes of 'm5.large' are not an object\")"),
], ids=["provider", "provider list", "family", "unit", "attributes list", "attributes text",
        "attributes null", "short entry", "not an entry", "first of two"])
def test_a_bad_product_is_refused_with_the_checked_loops_message(tmp_path, edit, malformed):
    path = tmp_path / "snap.json"
    write_snapshot(path, [make_row(), make_row(sku="m5.xlarge", price_usd=0.192,
                                               attributes=XLARGE)], date(2026, 12, 6))
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(CatalogError) as info:
        read_snapshot(path)
    assert str(info.value) == f"catalog snapshot {path} is malformed: {malformed}"


def test_products_read_by_lookup_are_the_members_and_read_only_attributes(tmp_path):
    path = tmp_path / "snap.json"
    write_snapshot(path, [make_row(sku="m5.xlarge", attributes=XLARGE)], date(2026, 12, 6))
    ((provider, service, family, sku, unit, attributes),) = read_snapshot(path).table.products
    assert provider is Provider.AWS and family is ProductFamily.COMPUTE and unit is Unit.HOUR
    assert (service, sku, dict(attributes)) == ("AmazonEC2", "m5.xlarge", XLARGE)
    with pytest.raises(TypeError):
        attributes["vcpu"] = 8  # type: ignore[index]
