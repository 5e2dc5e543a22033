"""Compute Engine machine prices from the Cloud Billing Catalog API.

``GET https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus`` (the
Compute Engine service), following ``nextPageToken``. The catalog does not list
machine types: it lists resource rates, one SKU per family, resource and usage
type ("N2 Instance Core running in Americas", "N2 Instance Ram running in
Americas", "Spot Preemptible N2 Instance Core ...", "Commitment v1: N2 Cpu in
Americas for 1 Year"), each valid in the regions of its ``serviceRegions``.
A predefined machine type costs vCPUs x the core rate + GiB x the RAM rate
(``gcp_machines.machine_price``), so each machine row is built from a core SKU
and a RAM SKU of the same family, usage type and region.

Usage types: OnDemand -> on_demand, Preemptible -> spot, Commit1Yr ->
reserved_1y, Commit3Yr -> reserved_3y. Custom, sole-tenant and extended-memory
SKUs are not predefined-machine rates and are ignored.

Auth is an API key (the ``GCP_API_KEY`` setting, passed in by ``catalog.refresh``; the
adapter reads no environment). It travels in the ``X-goog-api-key``
header, which Google APIs accept in place of the ``key=`` query parameter, so it
never appears in a URL, a log line or an error.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx

from infra_mind.catalog.adapters.base import AdapterError, get_json, http_client
from infra_mind.catalog.gcp_machines import machine_price, machine_shapes
from infra_mind.catalog.model import (
    CatalogError,
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
    Unit,
)
from infra_mind.kit.retry import RetryPolicy

SERVICE_ID = "6F81-5844-456A"
DEFAULT_URL = "https://cloudbilling.googleapis.com"
SOURCE = ("https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus "
          "(Cloud Billing Catalog API)")
SERVICE = "Compute Engine"
API_KEY_ENV = "GCP_API_KEY"
FAMILIES = ("e2", "n2", "n2d", "c2")
MAX_PAGES = 200  # the whole Compute Engine catalog is a few pages of 5000 SKUs

_USAGE = {"OnDemand": PurchaseOption.ON_DEMAND, "Preemptible": PurchaseOption.SPOT,
          "Commit1Yr": PurchaseOption.RESERVED_1Y, "Commit3Yr": PurchaseOption.RESERVED_3Y}
#: The family names as SKU descriptions spell them.
_FAMILY_NAMES = {"e2": "e2", "n2": "n2", "n2d amd": "n2d", "compute optimized": "c2"}
_DESCRIPTION = re.compile(
    r"^(?:spot preemptible |preemptible |commitment(?: v\d+)?:\s*)?"
    r"(n2d amd|n2|e2|compute optimized)\s+(?:predefined\s+)?(?:instance\s+)?(core|cpu|ram)\b",
    re.IGNORECASE)
_UNITS = {"cpu": "h", "ram": "GiBy.h"}

Rate = tuple[float, date]


class GcpPriceSource:
    """Compute Engine predefined machine prices (e2, n2, n2d, c2) for the given regions."""

    provider = Provider.GCP

    def __init__(self, *, api_key: str, base_url: str = DEFAULT_URL,
                 policy: RetryPolicy | None = None, timeout_s: float = 30.0,
                 client: httpx.Client | None = None,
                 families: tuple[str, ...] = FAMILIES) -> None:
        """``api_key``: the ``GCP_API_KEY`` setting ("" when unset: ``fetch`` refuses);
        ``base_url`` overrides the API's address (scheme and host; the
        ``/v1/services/...`` path is appended)."""
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.timeout_s = timeout_s
        self.client = client
        self.families = families
        self.skipped: Counter[str] = Counter()

    def fetch(self, regions: list[str]) -> list[PriceRow]:
        """Every predefined machine of ``families`` in ``regions``; raises ``AdapterError``."""
        self.skipped = Counter()
        if not self.api_key:
            raise AdapterError(f"gcp: set {API_KEY_ENV} (an API key allowed to call the Cloud "
                               "Billing API)")
        client = self.client or http_client(self.timeout_s)
        try:
            skus = self._skus(client)
        finally:
            if self.client is None:
                client.close()
        rates = self._rates(skus, set(regions))
        return self._machines(rates, regions)

    def covers(self, sku: str) -> bool:
        """Predefined machine types of ``families`` (``n2-standard-4``), nothing else."""
        return sku.split("-")[0] in self.families

    def _skus(self, client: httpx.Client) -> list[dict[str, Any]]:
        url = f"{self.base_url}/v1/services/{SERVICE_ID}/skus"
        headers = {"X-goog-api-key": self.api_key}
        skus: list[dict[str, Any]] = []
        token = ""
        for _ in range(MAX_PAGES):
            params = {"currencyCode": "USD"}
            if token:
                params["pageToken"] = token
            page = get_json(client, url, provider="gcp", policy=self.policy, params=params,
                            headers=headers, secrets=(self.api_key,))
            if not isinstance(page, dict):
                raise AdapterError("gcp: unexpected answer from the Cloud Billing API: "
                                   "not a JSON object")
            skus.extend(s for s in page.get("skus", []) if isinstance(s, dict))
            token = page.get("nextPageToken") or ""
            if not token:
                return skus
        raise AdapterError(f"gcp: more than {MAX_PAGES} pages of SKUs")

    def _rates(self, skus: list[dict[str, Any]], regions: set[str],
               ) -> dict[tuple[str, PurchaseOption, str], dict[str, Rate]]:
        """(family, option, region) -> {"cpu": (rate, date), "ram": (rate, date)}."""
        rates: dict[tuple[str, PurchaseOption, str], dict[str, Rate]] = {}
        for sku in skus:
            parsed = self._parse_sku(sku)
            if parsed is None:
                continue
            family, resource, option, rate = parsed
            for region in sku.get("serviceRegions") or []:
                if region not in regions:
                    continue
                slot = rates.setdefault((family, option, region), {})
                if resource in slot and slot[resource][0] != rate[0]:
                    # Two SKUs claim one rate; keep the first, as the API orders them stably.
                    self.skipped[f"second {family} {resource} {option.value} rate for a "
                                 "region (kept the first)"] += 1
                    continue
                slot.setdefault(resource, rate)
        return rates

    def _parse_sku(self, sku: Mapping[str, Any]) -> tuple[str, str, PurchaseOption, Rate] | None:
        category = sku.get("category") or {}
        if category.get("resourceFamily") != "Compute":
            return None
        match = _DESCRIPTION.match(str(sku.get("description", "")))
        if not match:
            return None  # another family, or a custom / sole-tenant / extended SKU
        family = _FAMILY_NAMES[match.group(1).lower()]
        if family not in self.families:
            return None
        resource = "ram" if match.group(2).lower() == "ram" else "cpu"
        option = _USAGE.get(str(category.get("usageType")))
        if option is None:
            self.skipped[f"usage type {category.get('usageType')!r}"] += 1
            return None
        try:
            info = sku["pricingInfo"][0]
            expression = info["pricingExpression"]
            tier = next(t for t in expression["tieredRates"]
                        if float(t.get("startUsageAmount", 0)) == 0)
            price = int(tier["unitPrice"].get("units") or 0) + (
                int(tier["unitPrice"].get("nanos") or 0) / 1e9)
            as_of = date.fromisoformat(str(info["effectiveTime"])[:10])
        except (KeyError, IndexError, StopIteration, TypeError, ValueError):
            self.skipped["SKU without a readable price"] += 1
            return None
        if expression.get("usageUnit") != _UNITS[resource]:
            self.skipped[f"{resource} SKU priced per {expression.get('usageUnit')!r}"] += 1
            return None
        if tier["unitPrice"].get("currencyCode", "USD") != "USD":
            self.skipped["price not in USD"] += 1
            return None
        return family, resource, option, (price, as_of)

    def _machines(self, rates: dict[tuple[str, PurchaseOption, str], dict[str, Rate]],
                  regions: list[str]) -> list[PriceRow]:
        shapes = [s for s in machine_shapes() if s.family in self.families]
        rows: list[PriceRow] = []
        for (family, option, region), slot in sorted(rates.items(), key=lambda kv: (
                regions.index(kv[0][2]), kv[0][0], kv[0][1].value)):
            family_shapes = [s for s in shapes if s.family == family]
            cpu, ram = slot.get("cpu"), slot.get("ram")
            if cpu is None or ram is None or cpu[0] <= 0 or ram[0] <= 0:
                # Zero means "not offered", and half a machine's price is no price.
                missing = "vCPU" if cpu is None or cpu[0] <= 0 else "RAM"
                self.skipped[f"{family} {option.value}: no positive {missing} rate"] += len(
                    family_shapes)
                continue
            as_of = max(cpu[1], ram[1])
            for shape in family_shapes:
                try:
                    rows.append(PriceRow(
                        provider=Provider.GCP, service=SERVICE,
                        product_family=ProductFamily.COMPUTE, sku=shape.name, region=region,
                        unit=Unit.HOUR, price_usd=machine_price(shape, cpu[0], ram[0]),
                        purchase_option=option, as_of=as_of, source=SOURCE,
                        attributes={"vcpu": shape.vcpu, "memory_gib": shape.memory_gib,
                                    "arch": shape.arch}))
                except CatalogError as exc:
                    self.skipped[f"invalid row: {exc}"] += 1
        return rows
