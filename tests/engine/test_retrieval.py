"""Reading an infrequent-access bucket costs a retrieval fee per GB, beside the egress.

A made-up medical-imaging archive keeps 80 TB in the infrequent class and sends 12 TB a
month to its viewers: Nearline, S3 Standard-IA and Blob Cool each bill $0.01 for every GB
read out of them (list prices in the catalog's home regions), $120 a month the design had
left out. Real catalog.
"""

from __future__ import annotations

import pytest

from infra_mind.engine.assess import assess

ARCHIVE = {"name": "dicom", "type": "object_storage", "storage_gb": 80000, "access": "infrequent",
           "egress_gb_per_month": 12000}
REGIONS = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus2"}


def retrieval(provider: str, **bucket):
    req = {"name": "archive", "availability_target": 99.9,
           "preferences": {"providers": [provider], "regions": [REGIONS[provider]]},
           "workloads": [{**ARCHIVE, **bucket}]}
    (option,) = assess(req).options
    return [i for i in option.line_items if i.component == "data retrieval"], option


@pytest.mark.parametrize(("provider", "sku"), [("aws", "s3-standard-ia-retrieval"),
                                               ("gcp", "gcs-nearline-retrieval"),
                                               ("azure", "blob-cool-retrieval")])
def test_every_gb_sent_is_read_out_of_the_class(provider, sku):
    (line,), option = retrieval(provider)
    assert (line.sku, line.quantity, line.unit, line.monthly_usd) == (sku, 12000, "GB", 120.0)
    assert line.note == ("12,000 GB read a month, its egress: every GB sent is read out of "
                         "the class first")
    assert not option.unpriced


def test_behind_the_cdn_only_the_cache_fills_are_read():
    (line,), _ = retrieval("aws", public=True)
    assert line.quantity == pytest.approx(1200)
    assert "the CDN's origin reads" in line.note


def test_the_standard_class_and_a_bucket_never_read_pay_none():
    assert retrieval("aws", access="frequent")[0] == []
    assert retrieval("gcp", egress_gb_per_month=0)[0] == []


def test_a_bucket_read_more_than_it_stores_is_told_the_standard_class_costs_less():
    # a podcast host: 2,000 GB in S3 Standard-IA, 9,000 GB read a month: $25.00 stored and
    # $90.00 retrieved, against $46.00 in S3 Standard
    req = {"name": "podcasts", "availability_target": 99.9,
           "preferences": {"providers": ["aws"], "regions": ["us-east-1"]},
           "workloads": [{**ARCHIVE, "storage_gb": 2000, "egress_gb_per_month": 9000}]}
    result = assess(req)
    (cost,) = [p for p in result.review if p.pillar == "cost_optimization"]
    assert ("dicom: stored for infrequent access but read 9,000 GB a month of its 2,000 GB, "
            "each GB read paying the class's retrieval fee: $115.00 a month with it, $46.00 in "
            "the standard class ($69.00 less; set access: frequent).") in cost.findings
    # the archive reads 15% of its size a month: the infrequent class is the cheaper
    archive = assess({**req, "workloads": [ARCHIVE]})
    (cost,) = [p for p in archive.review if p.pillar == "cost_optimization"]
    assert not [f for f in cost.findings if "stored for infrequent access" in f]
