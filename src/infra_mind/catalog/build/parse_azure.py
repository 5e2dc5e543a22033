"""Parsers for the Azure VM table and the Infracost-derived dump the catalog records.

* Azure/karpenter-provider-azure ``zz_generated.pricing.go``: Go source, a
  header ``// generated at <RFC3339>``, then per region
  ``initialOnDemandPrices["<armRegionName>"] = map[string]float64{"<armSkuName>":
  <USD/hour>, ...}``. The generator keeps Linux pay-as-you-go meters, but where
  several meters share a size name the last one read wins, so some sizes carry a
  Windows price: the build's per-series check (``quality.azure_series_check``)
  refuses those.
* coroot/cloud-pricing ``data/cloud-pricing.json.gz`` (gh-pages): gzip'd JSON
  ``{"aws"|"azure"|"gcp": {"compute": {region: {type: {"on_demand": h, "spot": h}}},
  "managed_db": {region: {engine: {class: {"single_az": {"on_demand": h},
  "multi_az": {...}}}}}, ...}}`` built daily from Infracost's public pricing dump.
  Only three parts are recorded: AWS and Azure spot prices and AWS RDS for
  PostgreSQL/MySQL instance hours. Its EC2 and Azure on-demand prices are not:
  keys there are overwritten by whichever product variant came last (Windows
  meters, other tenancies), which no per-family check catches (research notes
  of 2026-12, ``docs/catalog-data-quality.md``).
* sstybel/azure-vm-price-importer ``examples/az_price_data_<stamp>.azpx``: a zip of
  the JSON that Azure's own VM pricing page loads, as the tool downloaded it. Its
  ``az_azure_sku_region_linux_<region-slug>_<stamp>.json`` maps an offer
  (``linux-d2sv5-standard``) to hourly USD rates: ``perhour`` (pay as you go),
  ``perhouroneyearreserved`` and ``perhourthreeyearreserved`` (a Reserved VM
  Instance's price spread over the hours of its term). Only Linux and only these three
  rates are recorded: the savings-plan rates are another product, and the other
  operating systems add licence charges.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zipfile
from typing import Any

from infra_mind.catalog.build.recorded import Fact, recorded_regions
from infra_mind.catalog.build.specs import AZURE_BY_NAME, EC2_FAMILIES
from infra_mind.catalog.model import ProductFamily as F
from infra_mind.catalog.model import Provider
from infra_mind.catalog.model import PurchaseOption as O
from infra_mind.catalog.model import Unit as U
from infra_mind.catalog.regions import regions_of

AZURE_REGIONS = [r.code for r in regions_of("azure")]
#: Karpenter's table is recorded for the covered regions and the reference-only ones.
AZURE_RECORDED = recorded_regions(Provider.AZURE)
AWS_REGIONS = [r.code for r in regions_of("aws")]
#: RDS instance families in scope (burstable through memory-optimised, current and older).
RDS_FAMILIES = ("t3", "t4g", "m5", "m6g", "m6i", "m7g", "r5", "r6g", "r6i", "r7g")


def karpenter_azure(text: str) -> list[Fact]:
    """Linux pay-as-you-go prices of the sizes in ``specs.AZURE_SIZES``, 15 regions."""
    blocks = re.split(r'initialOnDemandPrices\["([a-z0-9]+)"\] = map\[string\]float64\{', text)
    facts = []
    for i in range(1, len(blocks), 2):
        region, body = blocks[i], blocks[i + 1].split("}", 1)[0]
        if region not in AZURE_RECORDED:
            continue
        for sku, price in re.findall(r'"([^"]+)":\s*([0-9.]+)', body):
            size = AZURE_BY_NAME.get(sku.lower())
            if size is None or size.gpu_count or float(price) <= 0:
                continue
            facts.append(Fact("Virtual Machines", F.COMPUTE, U.HOUR, O.ON_DEMAND, size.arm_name,
                              region, float(price), {"family": size.family}))
    return facts


def generated_at(text: str) -> str:
    m = re.search(r"// generated at (\d{4}-\d{2}-\d{2})T", text)
    if not m:
        raise ValueError("no 'generated at' stamp")
    return m.group(1)


def coroot_aws(blob: bytes) -> list[Fact]:
    """AWS spot, and RDS PostgreSQL/MySQL Single-AZ and Multi-AZ on-demand."""
    doc: dict[str, Any] = json.loads(gzip.decompress(blob))
    facts = []
    for region in AWS_REGIONS:
        for itype, prices in doc["aws"]["compute"].get(region, {}).items():
            family = itype.split(".")[0]
            if family in EC2_FAMILIES and "metal" not in itype and prices.get("spot", 0) > 0:
                facts.append(Fact("AmazonEC2", F.COMPUTE, U.HOUR, O.SPOT, itype, region,
                                  float(prices["spot"]), {"family": family}))
        for engine, classes in doc["aws"]["managed_db"].get(region, {}).items():
            if engine not in ("postgres", "mysql"):
                continue  # Aurora comes from AWS's own page data (parse_aws.aurora)
            for cls, deployments in classes.items():
                if cls.split(".")[1] not in RDS_FAMILIES:
                    continue
                for key, deployment in (("single_az", "single"), ("multi_az", "ha")):
                    price = (deployments.get(key) or {}).get("on_demand", 0)
                    if price > 0:
                        facts.append(Fact("AmazonRDS", F.DATABASE, U.HOUR, O.ON_DEMAND, cls,
                                          region, float(price),
                                          {"engine": engine, "deployment": deployment,
                                           "family": "db." + cls.split(".")[1]}))
    return facts


def coroot_azure(blob: bytes) -> list[Fact]:
    """Azure spot prices of the sizes in ``specs.AZURE_SIZES``."""
    doc: dict[str, Any] = json.loads(gzip.decompress(blob))
    facts = []
    for region in AZURE_REGIONS:
        for sku, prices in doc["azure"]["compute"].get(region, {}).items():
            size = AZURE_BY_NAME.get(sku.lower())
            if size is not None and not size.gpu_count and prices.get("spot", 0) > 0:
                facts.append(Fact("Virtual Machines", F.COMPUTE, U.HOUR, O.SPOT, size.arm_name,
                                  region, float(prices["spot"]), {"family": size.family}))
    return facts


#: An Azure pricing-page offer's rate key, and the purchase option it is.
PAGE_RATES = {"perhour": O.ON_DEMAND, "perhouroneyearreserved": O.RESERVED_1Y,
              "perhourthreeyearreserved": O.RESERVED_3Y}
AZURE_RESERVATION = "Azure Reserved VM Instance, Linux (effective hourly rate)"
_PAGE_MEMBER = re.compile(r"az_azure_sku_region_linux_([a-z0-9-]+)_(\d{8})\d{6}\.json$")


def pricing_page(blob: bytes) -> list[Fact]:
    """Linux pay-as-you-go and 1-/3-year reserved hourly rates of ``specs.AZURE_SIZES``.

    Only regions of the recorded columns are kept (the page's slug without its
    hyphens is the ARM region name: ``poland-central`` is ``polandcentral``).
    """
    facts = []
    for region, doc in _page_regions(blob):
        for size in AZURE_BY_NAME.values():
            if size.gpu_count:
                continue
            offer = size.arm_name.removeprefix("Standard_").lower().replace("_", "")
            rates = doc.get(f"linux-{offer}-standard")
            for key, option in PAGE_RATES.items():
                price = float((rates or {}).get(key) or 0)
                if price <= 0:
                    continue
                attrs: dict[str, Any] = {"family": size.family}
                if option is not O.ON_DEMAND:
                    attrs["commitment"] = AZURE_RESERVATION
                facts.append(Fact("Virtual Machines", F.COMPUTE, U.HOUR, option,
                                  size.arm_name, region, price, attrs))
    return facts


def pricing_page_date(blob: bytes) -> str:
    """The date stamped in the name of the pack's Linux region file(s)."""
    dates = {m.group(2) for name in _members(blob) if (m := _PAGE_MEMBER.search(name))}
    if len(dates) != 1:
        raise ValueError(f"expected one Linux region file date, found {sorted(dates)}")
    (stamp,) = dates
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:]}"


def _members(blob: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        return zf.namelist()


def _page_regions(blob: bytes) -> list[tuple[str, dict[str, Any]]]:
    out = []
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        for name in sorted(zf.namelist()):
            m = _PAGE_MEMBER.search(name)
            region = m.group(1).replace("-", "") if m else ""
            if region in AZURE_RECORDED:
                out.append((region, json.loads(zf.read(name))))
    return out
