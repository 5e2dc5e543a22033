"""Parsers for the AWS price files the catalog records (see ``record.py`` for the pins).

* QuinnyPig/aws-price-watcher ``processed/<service>.json``: the JSON that AWS's
  own pricing pages load, flattened to ``{metric name: {location: "USD"}}``.
  A location is an AWS location *name* ("EU (Ireland)"), sometimes followed by
  details in parentheses ("(Instance Type: cache.m6g.large, vCPU: 2, Memory:
  6.38 GiB, ...)", "(StartingRange: 0, EndingRange: 10240)", "(To Location:
  EU (Ireland))").
* QuinnyPig ``raw/rds-aurora-ondemand.json``: the same page data before
  flattening: named sets of rate keys, and per location each key's instance
  type and price.
* aws/karpenter-provider-aws ``zz_generated.pricing_aws.go``: a Go map of
  us-east-1 on-demand Linux prices, "generated at <time> for us-east-1".
* vantage-sh/ec2instances.info ``next/utils/mocks/ec2_single_instance.json``:
  one instance type's full scraped record, Reserved Instance rates per region
  included.

Each parser returns ``Fact``s for the catalog's 15 AWS regions and its scope
(``specs.EC2_FAMILIES``, current ElastiCache and Aurora classes). Specs the
files do not carry (EC2 vCPUs and memory) are joined by the build.
"""

from __future__ import annotations

import json
import re
from typing import Any

from infra_mind.catalog.build.recorded import Fact
from infra_mind.catalog.build.specs import EC2_FAMILIES
from infra_mind.catalog.model import ProductFamily as F
from infra_mind.catalog.model import PurchaseOption as O
from infra_mind.catalog.model import Unit as U

#: AWS location names (as the pricing pages spell them) of the catalog's regions.
LOCATIONS = {
    "US East (N. Virginia)": "us-east-1", "US East (Ohio)": "us-east-2",
    "US West (N. California)": "us-west-1", "US West (Oregon)": "us-west-2",
    "Canada (Central)": "ca-central-1", "EU (Ireland)": "eu-west-1",
    "EU (Frankfurt)": "eu-central-1", "EU (Paris)": "eu-west-3", "EU (Stockholm)": "eu-north-1",
    "EU (London)": "eu-west-2", "Asia Pacific (Singapore)": "ap-southeast-1",
    "Asia Pacific (Sydney)": "ap-southeast-2", "Asia Pacific (Tokyo)": "ap-northeast-1",
    "Asia Pacific (Mumbai)": "ap-south-1", "South America (Sao Paulo)": "sa-east-1",
}
#: CloudFront prices data out and requests by the edge location's geography; each region
#: is given its home geography's prices (the edge nearest its users).
EDGE_GEOGRAPHY = {
    "us-east-1": "United States", "us-east-2": "United States", "us-west-1": "United States",
    "us-west-2": "United States", "ca-central-1": "Canada", "eu-west-1": "EU",
    "eu-central-1": "EU", "eu-west-3": "EU", "eu-north-1": "EU", "eu-west-2": "EU",
    "ap-southeast-1": "Asia Pacific", "ap-southeast-2": "Australia",
    "ap-northeast-1": "Japan", "ap-south-1": "India", "sa-east-1": "South America",
}
_DETAILS = re.compile(r"^(?P<name>.+?)(?: \((?P<details>.*)\))?$")
#: ElastiCache node families in scope: current general-purpose, memory-optimised, burstable.
CACHE_FAMILIES = ("t3", "t4g", "m5", "m6g", "m7g", "r5", "r6g", "r7g")
AURORA_FAMILIES = ("t3", "t4g", "r5", "r6g", "r6i", "r7g", "r7i", "r8g")


def _split(location: str) -> tuple[str, dict[str, str]]:
    """'EU (Ireland) (Instance Type: x, vCPU: 2)' -> ('EU (Ireland)', {'Instance Type': 'x'})."""
    for name in LOCATIONS:
        if location == name or location.startswith(name + " ("):
            rest = location[len(name):].strip()
            details = {}
            if rest.startswith("(") and rest.endswith(")"):
                for part in re.split(r", (?=[A-Za-z][A-Za-z ]*:)", rest[1:-1]):
                    key, _, value = part.partition(":")
                    details[key.strip()] = value.strip()
            return name, details
    return location, {}


def _by_region(prices: dict[str, str]) -> dict[str, tuple[float, dict[str, str]]]:
    out = {}
    for location, value in prices.items():
        name, details = _split(location)
        region = LOCATIONS.get(name)
        if region is not None and float(value) > 0:
            out[region] = (float(value), details)
    return out


def ec2(doc: dict[str, Any]) -> list[Fact]:
    """EC2 on-demand Linux: metric 'OnDemand Linux-instancetype-<type>'."""
    facts = []
    for metric, prices in doc.items():
        prefix = "OnDemand Linux-instancetype-"
        if not metric.startswith(prefix):
            continue
        itype = metric[len(prefix):]
        family = itype.split(".")[0]
        if family not in EC2_FAMILIES or "metal" in itype:
            continue
        for region, (price, _) in _by_region(prices).items():
            facts.append(Fact("AmazonEC2", F.COMPUTE, U.HOUR, O.ON_DEMAND, itype, region, price,
                              {"family": family}))
    return facts


def elasticache(doc: dict[str, Any]) -> list[Fact]:
    """ElastiCache node hours, Redis OSS and Valkey, current-generation nodes in scope."""
    facts = []
    pattern = re.compile(r"^\[OnDemand Cache Instance [^\]]*\] OnDemand Cache Instance .* "
                         r"cache (?P<node>[a-z0-9]+\.[a-z0-9]+) (?P<engine>Redis|Valkey) "
                         r"Current Generation$")
    for metric, prices in doc.items():
        m = pattern.match(metric)
        if not m or m.group("node").split(".")[0] not in CACHE_FAMILIES:
            continue
        node = "cache." + m.group("node")
        for region, (price, details) in _by_region(prices).items():
            if details.get("Instance Type") != node:
                raise ValueError(f"{metric}: location details name {details.get('Instance Type')}")
            memory = float(details["Memory"].split()[0])
            facts.append(Fact("AmazonElastiCache", F.CACHE, U.HOUR, O.ON_DEMAND, node, region,
                              price, {"engine": m.group("engine").lower(),
                                      "deployment": "single", "vcpu": int(details["vCPU"]),
                                      "memory_gib": memory,
                                      "family": "cache." + node.split(".")[1]}))
    return facts


def elb(doc: dict[str, Any]) -> list[Fact]:
    """Application Load Balancer hours and LCU-hours (the load balancer the engine sizes)."""
    facts = []
    for metric, sku, unit, dimension in (
            ("Application Load Balancer Hours", "alb", U.HOUR, "hourly"),
            ("Application Load Balancer LCU Hours", "alb-lcu", U.LCU_HOUR, "capacity")):
        for region, (price, _) in _by_region(doc[metric]).items():
            facts.append(Fact("AWSELB", F.LOAD_BALANCER, unit, O.ON_DEMAND, sku, region, price,
                              {"dimension": dimension}))
    return facts


def eks(doc: dict[str, Any]) -> list[Fact]:
    """EKS cluster-hours: standard support, and extended support (the fee plus its increment).

    AWS bills a cluster in extended support the standard fee plus the 'Compute
    ExtendedSupport' increment ($0.10 + $0.50 = $0.60 in us-east-1), so the extended
    row is the sum of the two meters, stated in its attributes.
    """
    standard: dict[str, float] = {}
    for metric in ("Compute per Hours", "Compute per hours"):
        for region, (price, _) in _by_region(doc.get(metric, {})).items():
            if standard.setdefault(region, price) != price:
                raise ValueError(f"EKS: two standard fees in {region}")
    facts = [Fact("AmazonEKS", F.KUBERNETES, U.HOUR, O.ON_DEMAND, "eks-cluster", r, p,
                  {"tier": "standard"}) for r, p in standard.items()]
    for region, (extra, _) in _by_region(doc["Compute ExtendedSupport per Hours"]).items():
        if region in standard:
            facts.append(Fact("AmazonEKS", F.KUBERNETES, U.HOUR, O.ON_DEMAND, "eks-cluster",
                              region, round(standard[region] + extra, 6),
                              {"tier": "extended",
                               "formula": f"standard {standard[region]} + extended-support "
                                          f"increment {extra}"}))
    return facts


def s3(doc: dict[str, Any]) -> list[Fact]:
    """S3 Standard (three volume tiers, GB per month) and S3 Standard-IA, per GB-month, and
    Standard-IA's retrieval fee, per GB read ("Object Retrieval in Standard Infrequent
    Access per GB")."""
    facts = []
    for metric, t0, t1 in (("Standard Storage First 50 TB per GB Mo", 0, 51200),
                           ("Standard Storage Next 450 TB per GB Mo", 51200, 512000),
                           ("Standard Storage Over 500 TB per GB Mo", 512000, None)):
        for region, (price, _) in _by_region(doc[metric]).items():
            facts.append(Fact("AmazonS3", F.OBJECT_STORAGE, U.GB_MONTH, O.ON_DEMAND,
                              "s3-standard", region, price,
                              {"storage_class": "standard", "tier_unit": "GB per month"},
                              t0, t1))
    for region, (price, _) in _by_region(doc["Standard Infrequent Access Storage per GB-Mo"]
                                         ).items():
        facts.append(Fact("AmazonS3", F.OBJECT_STORAGE, U.GB_MONTH, O.ON_DEMAND,
                          "s3-standard-ia", region, price, {"storage_class": "infrequent"}))
    for region, (price, _) in _by_region(
            doc["Object Retrieval in Standard Infrequent Access per GB"]).items():
        facts.append(Fact("AmazonS3", F.OBJECT_STORAGE, U.GB, O.ON_DEMAND,
                          "s3-standard-ia-retrieval", region, price,
                          {"retrieval_of": "infrequent"}))
    return facts


def datatransfer(doc: dict[str, Any]) -> list[Fact]:
    """Internet egress tiers (GB per month) and inter-region transfer per (from, to) pair."""
    facts = []
    tiers: dict[tuple[str, float], tuple[float | None, float]] = {}
    for metric in ("DataTransfer External Outbound Next 10 TB",
                   "DataTransfer External Outbound Next 40 TB",
                   "DataTransfer External Outbound Next 100 TB",
                   "DataTransfer External Outbound Greater than 150 TB"):
        for region, (price, details) in _by_region(doc[metric]).items():
            start = float(details["StartingRange"])
            end = None if details["EndingRange"] == "Inf" else float(details["EndingRange"])
            tiers[(region, start)] = (end, price)
    for (region, start), (end, price) in tiers.items():
        facts.append(Fact("AWSDataTransfer", F.EGRESS, U.GB, O.ON_DEMAND, "internet-egress",
                          region, price, {"free_gb_per_month": 100, "tier_unit": "GB per month"},
                          start, end))
    pairs: dict[tuple[str, str], float] = {}
    for metric, prices in doc.items():
        if "InterRegion Outbound" not in metric:
            continue
        for location, value in prices.items():
            m = re.match(r"^(?P<src>.+) \(To Location: (?P<dst>.+)\)$", location)
            if not m:
                continue
            src, dst = LOCATIONS.get(m.group("src")), LOCATIONS.get(m.group("dst"))
            if src and dst and float(value) > 0 \
                    and pairs.setdefault((src, dst), float(value)) != float(value):
                raise ValueError(f"inter-region {src}->{dst}: two prices")
    for (src, dst), price in pairs.items():
        facts.append(Fact("AWSDataTransfer", F.INTER_REGION_TRANSFER, U.GB, O.ON_DEMAND,
                          "inter-region-transfer", src, price, {"to_region": dst}))
    return facts


def rds_storage(doc: dict[str, Any]) -> list[Fact]:
    """RDS gp3 storage per GB-month, Single-AZ and Multi-AZ, and backup (snapshot) storage."""
    facts = []
    for metric, deployment in (("Database Storage Single AZ General Purpose-GP3", "single"),
                               ("Database Storage Multi AZ General Purpose-GP3", "ha")):
        for region, (price, _) in _by_region(doc[metric]).items():
            for engine in ("postgres", "mysql"):
                facts.append(Fact("AmazonRDS", F.DATABASE_STORAGE, U.GB_MONTH, O.ON_DEMAND,
                                  "rds-gp3-storage", region, price,
                                  {"engine": engine, "deployment": deployment}))
    for region, (price, _) in _by_region(doc["Storage Snapshot"]).items():
        for engine in ("postgres", "mysql"):
            # deployment "any": the backup price applies to single and HA alike, and must
            # not be taken for the storage price of either
            facts.append(Fact("AmazonRDS", F.DATABASE_STORAGE, U.GB_MONTH, O.ON_DEMAND,
                              "rds-backup-storage", region, price,
                              {"engine": engine, "deployment": "any", "dimension": "backup",
                               "note": "backup storage beyond the free allowance (100% of "
                                       "provisioned storage)"}))
    return facts


_CF_TIERS = {"First 10 TB": (0, 10240), "Next 40 TB": (10240, 51200),
             "next 100 TB": (51200, 153600), "Next 350 TB": (153600, 512000),
             "next 524 TB": (512000, 1048576), "Next 4 PB": (1048576, 5242880),
             "Over 5 PB": (5242880, None)}


def cloudfront(doc: dict[str, Any]) -> list[Fact]:
    """CloudFront data out to the internet (7 tiers) and HTTPS requests, per geography."""
    by_geo: dict[str, list[tuple[float, float | None, float]]] = {}
    https: dict[str, float] = {}
    pattern = re.compile(r"Regional DT from (?P<geo>.+) to Internet (?P<tier>.+)$")
    for metric, prices in doc.items():
        m = pattern.search(metric)
        if m and m.group("tier") in _CF_TIERS and metric.startswith("[Regional DT to Internet"):
            (price,) = (float(v) for v in prices.values())
            t0, t1 = _CF_TIERS[m.group("tier")]
            by_geo.setdefault(m.group("geo"), []).append((t0, t1, price))
        if metric.startswith("Request HTTPS Methods from "):
            (value,) = prices.values()
            https[metric.removeprefix("Request HTTPS Methods from ")] = float(value)
    facts = []
    for region, geo in EDGE_GEOGRAPHY.items():
        for t0, t1, price in by_geo[geo]:
            facts.append(Fact("AmazonCloudFront", F.CDN, U.GB, O.ON_DEMAND, "cloudfront-data",
                              region, price, {"dimension": "data", "edge_geography": geo,
                                              "free_gb_per_month": 1024,
                                              "tier_unit": "GB per month"}, t0, t1))
        facts.append(Fact("AmazonCloudFront", F.CDN, U.REQUESTS_10K, O.ON_DEMAND,
                          "cloudfront-https-requests", region, round(https[geo] * 10000, 8),
                          {"dimension": "requests", "edge_geography": geo}))
    return facts


def aurora(doc: dict[str, Any]) -> list[Fact]:
    """Aurora instance hours (Standard storage configuration, not I/O-Optimized)."""
    facts = []
    for set_name, keys in doc["sets"].items():
        m = re.match(r"^Database Instance Aurora (?P<engine>MySQL|PostgreSQL) No license "
                     r"required (?P<kind>General purpose|Memory optimized) Single-AZ "
                     r"Current Generation$", set_name)
        if not m:
            continue  # I/O-Optimized, previous generation, local-NVMe classes: out of scope
        engine = "aurora-" + {"MySQL": "mysql", "PostgreSQL": "postgresql"}[m.group("engine")]
        wanted = set(keys)
        for location, items in doc["regions"].items():
            region = LOCATIONS.get(location)
            if region is None:
                continue
            for key, item in items.items():
                cls = item["Instance Type"]
                if key in wanted and cls.split(".")[1] in AURORA_FAMILIES \
                        and float(item["price"]) > 0:
                    facts.append(Fact("AmazonRDS", F.DATABASE, U.HOUR, O.ON_DEMAND, cls, region,
                                      float(item["price"]),
                                      {"engine": engine, "deployment": "single",
                                       "storage_config": "standard",
                                       "family": "db." + cls.split(".")[1]}))
    return facts


def karpenter_aws(text: str) -> list[Fact]:
    """us-east-1 on-demand Linux prices from Karpenter's generated Go map."""
    if '"us-east-1": {' not in text:
        raise ValueError("no us-east-1 block")
    body = text.split('"us-east-1": {', 1)[1]
    facts = []
    for itype, price in re.findall(r'"([a-z0-9-]+\.[a-z0-9-]+)":\s*([0-9.]+)', body):
        family = itype.split(".")[0]
        if family in EC2_FAMILIES and "metal" not in itype and float(price) > 0:
            facts.append(Fact("AmazonEC2", F.COMPUTE, U.HOUR, O.ON_DEMAND, itype, "us-east-1",
                              float(price), {"family": family}))
    return facts


def vantage_ri(doc: dict[str, Any]) -> list[Fact]:
    """One instance type's Linux on-demand and Standard RI (no upfront) rates per region."""
    itype = doc["instance_type"]
    facts = []
    for region in LOCATIONS.values():
        linux = doc["pricing"].get(region, {}).get("linux")
        if not linux:
            continue
        reserved = linux.get("reserved", {})
        for key, option in (("yrTerm1Standard.noUpfront", O.RESERVED_1Y),
                            ("yrTerm3Standard.noUpfront", O.RESERVED_3Y)):
            if float(reserved.get(key) or 0) > 0:
                facts.append(Fact("AmazonEC2", F.COMPUTE, U.HOUR, option, itype, region,
                                  float(reserved[key]),
                                  {"family": itype.split(".")[0],
                                   "commitment": "EC2 Standard Reserved Instance, no upfront, "
                                                 "effective hourly rate"}))
    return facts


def load_json(blob: bytes) -> dict[str, Any]:
    return json.loads(blob)
