"""The recorded inputs: this project's parsers, the recorded file format, the record command.

The parsers are fed small documents in each source's own format (the shapes described in
the parsers' docstrings, with figures from the real files); the record command is run
against a real git repository made in a temporary directory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import pytest

from infra_mind.catalog.build import parse_aws, parse_azure, parse_gcp, record
from infra_mind.catalog.build.recorded import Fact, load_recorded, parse, render
from infra_mind.catalog.model import CatalogError, ProductFamily, PurchaseOption, Unit

META = {"source": "t", "provider": "aws", "repository": "o/r", "commit": "c" * 40,
        "path": "p.json", "date": "2025-06-05", "date-basis": "commit date",
        "licence": "MIT", "sha256": "0" * 64}


def test_ec2_keeps_families_in_scope_and_maps_location_names():
    doc = {"OnDemand Linux-instancetype-m7i.large": {
               "US East (N. Virginia)": "0.1008000000", "EU (Frankfurt)": "0.1207500000",
               "Mexico (Central)": "0.1058400000"},
           "OnDemand Linux-instancetype-m7i.metal-24xl": {"US East (N. Virginia)": "4.8384"},
           "OnDemand Linux-instancetype-t2.micro": {"US East (N. Virginia)": "0.0116"}}
    facts = parse_aws.ec2(doc)
    assert {(f.sku, f.region, f.price_usd) for f in facts} == {
        ("m7i.large", "us-east-1", 0.1008), ("m7i.large", "eu-central-1", 0.12075)}


def test_elasticache_reads_engine_and_memory_from_the_location_details():
    metric = ("[OnDemand Cache Instance Standard Valkey Current Generation] OnDemand Cache "
              "Instance Standard cache m6g.large Valkey Current Generation")
    doc = {metric: {"EU (Ireland) (Instance Type: cache.m6g.large, vCPU: 2, Memory: 6.38 GiB, "
                    "Network Performance: Up to 10 Gigabit)": "0.1312000000"}}
    (fact,) = parse_aws.elasticache(doc)
    assert (fact.sku, fact.region, fact.price_usd) == ("cache.m6g.large", "eu-west-1", 0.1312)
    assert fact.attributes == {"engine": "valkey", "deployment": "single", "vcpu": 2,
                               "memory_gib": 6.38, "family": "cache.m6g"}


def test_egress_tiers_and_inter_region_pairs():
    doc = {"DataTransfer External Outbound Next 10 TB": {
               "Asia Pacific (Mumbai) (StartingRange: 0, EndingRange: 10240)": "0.1093"},
           "DataTransfer External Outbound Next 40 TB": {
               "Asia Pacific (Mumbai) (StartingRange: 10240, EndingRange: 51200)": "0.085"},
           "DataTransfer External Outbound Next 100 TB": {},
           "DataTransfer External Outbound Greater than 150 TB": {
               "Asia Pacific (Mumbai) (StartingRange: 153600, EndingRange: Inf)": "0.08"},
           "DataTransfer InterRegion Outbound to EU Ireland": {
               "Asia Pacific (Mumbai) (To Location: EU (Ireland))": "0.0860000000"}}
    facts = parse_aws.datatransfer(doc)
    egress = sorted((f.tier_start, f.tier_end, f.price_usd) for f in facts
                    if f.family is ProductFamily.EGRESS)
    assert egress == [(0.0, 10240.0, 0.1093), (10240.0, 51200.0, 0.085), (153600.0, None, 0.08)]
    (pair,) = [f for f in facts if f.family is ProductFamily.INTER_REGION_TRANSFER]
    assert (pair.region, pair.attributes["to_region"], pair.price_usd) == (
        "ap-south-1", "eu-west-1", 0.086)


def test_rds_backup_rows_never_pass_for_storage():
    doc = {"Database Storage Single AZ General Purpose-GP3": {"Asia Pacific (Mumbai)": "0.131"},
           "Database Storage Multi AZ General Purpose-GP3": {"Asia Pacific (Mumbai)": "0.262"},
           "Storage Snapshot": {"Asia Pacific (Mumbai)": "0.095"}}
    facts = parse_aws.rds_storage(doc)
    backup = [f for f in facts if f.sku == "rds-backup-storage"]
    assert {f.attributes["deployment"] for f in backup} == {"any"}
    assert {f.attributes["dimension"] for f in backup} == {"backup"}
    assert sorted(f.price_usd for f in facts if f.sku == "rds-gp3-storage") == [
        0.131, 0.131, 0.262, 0.262]


def test_cloudfront_gives_each_region_its_home_geography():
    doc = {"[Regional DT to Internet First 10 TB] X JRTCKXETXF.Q3Z75P77EN Transfer;Regional DT "
           f"from {geo} to Internet First 10 TB": {" (Per Month: 10240)": price}
           for geo, price in (("India", "0.109"), ("United States", "0.085"), ("EU", "0.085"),
                              ("Canada", "0.085"), ("Asia Pacific", "0.12"), ("Japan", "0.114"),
                              ("Australia", "0.114"), ("South America", "0.11"))}
    doc.update({f"Request HTTPS Methods from {geo}": {"": value}
                for geo, value in (("India", "0.0000012"), ("United States", "0.000001"),
                                   ("EU", "0.0000012"), ("Canada", "0.000001"),
                                   ("Asia Pacific", "0.0000012"), ("Japan", "0.0000012"),
                                   ("Australia", "0.00000125"), ("South America", "0.0000022"))})
    facts = {(f.sku, f.region): f for f in parse_aws.cloudfront(doc)}
    assert facts[("cloudfront-data", "ap-south-1")].price_usd == 0.109
    assert facts[("cloudfront-data", "ap-south-1")].attributes["edge_geography"] == "India"
    assert facts[("cloudfront-https-requests", "us-east-1")].price_usd == pytest.approx(0.01)
    assert facts[("cloudfront-https-requests", "us-east-1")].unit is Unit.REQUESTS_10K


def test_aurora_takes_standard_storage_sets_only():
    doc = {"sets": {
        "Database Instance Aurora PostgreSQL No license required Memory optimized Single-AZ "
        "Current Generation": ["k1 V1"],
        "Database Instance Aurora PostgreSQL No license required Aurora IO Optimization Mode "
        "Memory optimized Single-AZ Current Generation": ["k2 V1"]},
        "regions": {"EU (Ireland)": {
            "k1 V1": {"Instance Type": "db.r7g.large", "price": "0.3030000000"},
            "k2 V1": {"Instance Type": "db.r7g.large", "price": "0.3940000000"}}}}
    (fact,) = parse_aws.aurora(doc)
    assert (fact.sku, fact.region, fact.price_usd) == ("db.r7g.large", "eu-west-1", 0.303)
    assert fact.attributes["engine"] == "aurora-postgresql"


def test_karpenter_azure_keeps_the_sizes_of_the_table_and_the_stamp():
    text = ('// generated at 2026-06-18T03:43:41Z\n'
            'initialOnDemandPrices["centralindia"] = map[string]float64{\n'
            '"Standard_D2as_v4": 0.062200, "Standard_M416s_8_v2": 90.1,\n}\n'
            'initialOnDemandPrices["westus"] = map[string]float64{"Standard_D2s_v5": 0.096,}\n'
            'initialOnDemandPrices["koreacentral"] = map[string]float64{"Standard_D2s_v5": 0.1,}')
    facts = parse_azure.karpenter_azure(text)
    assert {(f.sku, f.region, f.price_usd) for f in facts} == {
        ("Standard_D2as_v4", "centralindia", 0.0622), ("Standard_D2s_v5", "westus", 0.096)}
    assert parse_azure.generated_at(text) == "2026-06-18"


def _azpx(members: dict[str, object]) -> bytes:
    """A pack as sstybel/azure-vm-price-importer writes it: a zip of the page's JSON files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, doc in members.items():
            zf.writestr(f"az_price_data_20260126133104/{name}", json.dumps(doc))
    return buf.getvalue()


def test_azure_pricing_page_keeps_linux_pay_as_you_go_and_reservations():
    # figures from the pack's poland-central Linux file (2026-01-26)
    region = {"linux-d2sv5-standard": {
                  "perhour": 0.115, "perhouroneyearreserved": 0.0678538813,
                  "perhourthreeyearreserved": 0.0425418569, "perunitoneyearsavings": 0.0874,
                  "perhourspot": 0.0201},
              "linux-b16psv2-standard": {},  # not sold there: no rate
              "linux-m416s8v2-standard": {"perhour": 90.1}}  # not a size of the catalog
    blob = _azpx({"az_azure_sku_region_linux_poland-central_20260126133107.json": region,
                  "az_azure_sku_region_windows_poland-central_20260126133153.json":
                      {"windows-d2sv5-standard": {"perhour": 0.207}},
                  "az_azure_sku_region_linux_korea-central_20260126133107.json": region})
    facts = parse_azure.pricing_page(blob)
    assert {(f.sku, f.region, f.option, f.price_usd) for f in facts} == {
        ("Standard_D2s_v5", "polandcentral", PurchaseOption.ON_DEMAND, 0.115),
        ("Standard_D2s_v5", "polandcentral", PurchaseOption.RESERVED_1Y, 0.0678538813),
        ("Standard_D2s_v5", "polandcentral", PurchaseOption.RESERVED_3Y, 0.0425418569)}
    reserved = [f for f in facts if f.option is not PurchaseOption.ON_DEMAND]
    assert all(f.attributes["commitment"].startswith("Azure Reserved VM Instance")
               for f in reserved)
    assert parse_azure.pricing_page_date(blob) == "2026-01-26"


def test_coroot_records_spot_and_rds_but_never_on_demand_vms():
    doc = {"aws": {"compute": {"us-east-1": {"m5.large": {"on_demand": 0.102, "spot": 0.04}}},
                   "managed_db": {"eu-west-1": {"postgres": {"db.m6g.large": {
                       "single_az": {"on_demand": 0.176}, "multi_az": {"on_demand": 0.352}}},
                       "aurora-mysql": {"db.r6g.large": {"single_az": {"on_demand": 0.29}}}}}},
           "azure": {"compute": {"brazilsouth": {"Standard_D2s_v5": {"on_demand": 0.2,
                                                                     "spot": 0.03}}}}}
    blob = gzip.compress(json.dumps(doc).encode())
    aws = {(f.sku, f.region, f.option, f.attributes.get("deployment")): f.price_usd
           for f in parse_azure.coroot_aws(blob)}
    assert aws == {("m5.large", "us-east-1", PurchaseOption.SPOT, None): 0.04,
                   ("db.m6g.large", "eu-west-1", PurchaseOption.ON_DEMAND, "single"): 0.176,
                   ("db.m6g.large", "eu-west-1", PurchaseOption.ON_DEMAND, "ha"): 0.352}
    (azure,) = parse_azure.coroot_azure(blob)
    assert (azure.sku, azure.option, azure.price_usd) == (
        "Standard_D2s_v5", PurchaseOption.SPOT, 0.03)


def test_cyclenerd_machine_prices_commitments_and_specs():
    doc = {"compute": {
        "instance": {"n2d-standard-2": {"cpu": 2, "ram": 8, "cost": {"asia-south1": {
            "hour": 0.055766, "hour_spot": 0.030508, "month_1y": 25.64782,
            "month_3y": 18.32008}}},
            "n2-highmem-128": {"cpu": 128, "ram": 864, "cost": {}},
            "e2-micro": {"cpu": 0.25, "ram": 1, "cost": {"us-central1": {"hour": 0.0083764}}}},
        "storage": {"balanced": {"cost": {}}, "ssd": {"cost": {}}},
        "network": {"nat": {"gateway": {"cost": {}}, "data": {"cost": {}}},
                    "traffic": {"egress": {"internet": {"cost": {"0-1": {}, "1-10": {},
                                                                 "10n": {}}}}}}},
        "storage": {"bucket": {"standard": {"cost": {}}, "nearline": {"cost": {}}}}}
    facts = {(f.sku, f.option): f for f in parse_gcp.cyclenerd(doc)}
    assert facts[("n2d-standard-2", PurchaseOption.ON_DEMAND)].price_usd == 0.055766
    assert facts[("n2d-standard-2", PurchaseOption.RESERVED_1Y)].price_usd == pytest.approx(
        25.64782 / 730)
    micro = facts[("e2-micro", PurchaseOption.ON_DEMAND)].attributes
    assert micro["vcpu"] == 2 and micro["shared_core_fraction"] == 0.25


def test_a_recorded_file_round_trips_and_refuses_two_prices_for_one_cell():
    facts = [Fact("AmazonS3", ProductFamily.OBJECT_STORAGE, Unit.GB_MONTH,
                  PurchaseOption.ON_DEMAND, "s3-standard", region, price,
                  {"storage_class": "standard"}, 0, 51200)
             for region, price in (("us-east-1", 0.023), ("sa-east-1", 0.0405))]
    text = render(META, facts)
    rec = parse(text)
    assert rec.meta["sha256"] == "0" * 64 and rec.as_of == date(2025, 6, 5)
    assert rec.source == "github.com/o/r@" + "c" * 40 + ":p.json"
    assert sorted((f.region, f.price_usd, f.tier_end) for f in rec.facts) == [
        ("sa-east-1", 0.0405, 51200.0), ("us-east-1", 0.023, 51200.0)]
    assert render(META, rec.facts) == text  # stable: re-recording gives the same bytes
    clash = [*facts, Fact("AmazonS3", ProductFamily.OBJECT_STORAGE, Unit.GB_MONTH,
                          PurchaseOption.ON_DEMAND, "s3-standard", "us-east-1", 0.024,
                          {"storage_class": "standard"}, 0, 51200)]
    with pytest.raises(CatalogError, match="two prices for s3-standard in us-east-1"):
        render(META, clash)


def test_a_recorded_file_without_its_provenance_is_refused():
    text = render(META, [])
    with pytest.raises(CatalogError, match="header lacks sha256"):
        parse(text.replace("# sha256: " + "0" * 64 + "\n", ""))


def test_record_reads_the_pinned_file_from_git_and_writes_its_checksum(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                              text=True, env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                                              "GIT_COMMITTER_NAME": "t",
                                              "GIT_COMMITTER_EMAIL": "t@t",
                                              "GIT_AUTHOR_DATE": "2025-06-13T00:00:00Z",
                                              "GIT_COMMITTER_DATE": "2025-06-13T00:00:00Z",
                                              "PATH": "/usr/bin:/bin"}).stdout
    git("init", "-q")
    blob = json.dumps({"OnDemand Linux-instancetype-m7i.large": {
        "US East (N. Virginia)": "0.1008000000"}}).encode()
    (repo / "processed").mkdir()
    (repo / "processed" / "ec2.json").write_bytes(blob)
    git("add", ".")
    git("commit", "-q", "-m", "data")
    commit = git("rev-parse", "HEAD").strip()
    pin = record.Pin("test-ec2", "aws", "o/r", commit, "processed/ec2.json", "MIT",
                     lambda b: parse_aws.ec2(json.loads(b)))
    path = record.record(pin, repo, tmp_path / "out")
    (rec,) = load_recorded(tmp_path / "out")
    assert path.name == "test-ec2.csv"
    assert rec.meta["sha256"] == hashlib.sha256(blob).hexdigest()
    assert rec.meta["date"] == "2025-06-13" and rec.meta["commit"] == commit
    assert [(f.sku, f.region, f.price_usd) for f in rec.facts] == [
        ("m7i.large", "us-east-1", 0.1008)]
    with pytest.raises(CatalogError, match="cannot read"):
        record.record(record.Pin("x", "aws", "o/r", commit, "absent.json", "MIT",
                                 parse_aws.ec2), repo, tmp_path / "out")


def test_the_committed_recorded_files_all_load_with_their_provenance():
    recorded = load_recorded()
    assert {r.meta["source"] for r in recorded} >= {
        "quinnypig-ec2", "quinnypig-rds-storage", "coroot-aws", "karpenter-azure",
        "cyclenerd-gcp", "cloudpilot-gcp", "vantage-ec2-reserved"}
    for rec in recorded:
        assert len(rec.meta["sha256"]) == 64 and len(rec.meta["commit"]) == 40, rec.meta
        assert rec.facts, rec.meta["source"]
