"""Virtual machine prices from the Azure Retail Prices API.

``GET https://prices.azure.com/api/retail/prices?api-version=2023-01-01-preview``
with an OData ``$filter`` per region and price type, following ``NextPageLink``
until it is null (learn.microsoft.com/rest/api/cost-management/retail-prices/
azure-retail-prices). No authentication.

- ``priceType eq 'Consumption'``: pay-as-you-go prices; a ``skuName`` ending in
  " Spot" is the spot price, one ending in " Low Priority" (the retired batch
  offer) is skipped, and so is every Windows product (the catalog prices Linux).
- ``priceType eq 'Reservation'``: ``retailPrice`` is the price of the whole term
  although ``unitOfMeasure`` says "1 Hour"; the hourly rate is that price divided
  by the hours in the term (``HOURS_IN_TERM``).

The API does not say how many vCPUs or GiB a size has, so the caller passes a
size table (``armSkuName`` -> attributes with vcpu, memory_gib, arch and, for
GPU sizes, gpu_count, gpu_model, gpu_memory_gib). Sizes missing from it are
skipped and counted, never guessed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from infra_mind.catalog.adapters.base import AdapterError, get_json, http_client
from infra_mind.catalog.model import (
    COMPUTE_ATTRIBUTES,
    GPU_ATTRIBUTES,
    CatalogError,
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
    Unit,
)
from infra_mind.catalog.store import normalize_sku
from infra_mind.kit.retry import RetryPolicy

DEFAULT_URL = "https://prices.azure.com/api/retail/prices"
API_VERSION = "2023-01-01-preview"
SOURCE = "https://prices.azure.com/api/retail/prices (Azure Retail Prices API)"
SERVICE = "Virtual Machines"
#: A reservation's retailPrice covers its whole term; 365-day years, as Azure's own
#: calculator amortises (8760 h = 365 x 24).
HOURS_IN_TERM = {"1 Year": 8760, "3 Years": 3 * 8760}
_TERM_OPTION = {"1 Year": PurchaseOption.RESERVED_1Y, "3 Years": PurchaseOption.RESERVED_3Y}
#: A stuck ``NextPageLink`` must not loop forever; eastus has a few thousand VM meters.
MAX_PAGES = 500


class AzurePriceSource:
    """Azure Linux VM prices (on-demand, spot, reserved 1y/3y) for sizes in ``sizes``."""

    provider = Provider.AZURE

    def __init__(self, sizes: Mapping[str, Mapping[str, Any]], *, base_url: str = DEFAULT_URL,
                 policy: RetryPolicy | None = None, timeout_s: float = 30.0,
                 client: httpx.Client | None = None) -> None:
        """``sizes`` maps a size name (``Standard_D2s_v5``; case and the ``Standard_`` prefix
        do not matter) to its spec attributes; ``base_url`` overrides the API's address."""
        self.sizes = {normalize_sku(Provider.AZURE, name): _spec_attributes(attrs)
                      for name, attrs in sizes.items()}
        self.base_url = base_url
        self.policy = policy or RetryPolicy()
        self.timeout_s = timeout_s
        self.client = client
        self.skipped: Counter[str] = Counter()
        #: Sizes the last fetch saw priced but could not use (no specs known).
        self.unknown_sizes: set[str] = set()

    def fetch(self, regions: list[str]) -> list[PriceRow]:
        """Every priced, known size in ``regions``; raises ``AdapterError``."""
        self.skipped = Counter()
        self.unknown_sizes = set()
        client = self.client or http_client(self.timeout_s)
        try:
            rows: list[PriceRow] = []
            for region in regions:
                best: dict[tuple[str, PurchaseOption], tuple[PriceRow, str]] = {}
                for price_type in ("Consumption", "Reservation"):
                    for item in self._items(client, region, price_type):
                        self._keep(best, item, region)
                rows.extend(row for row, _ in best.values())
            return rows
        finally:
            if self.client is None:
                client.close()

    def covers(self, sku: str) -> bool:
        """The sizes of the size table: others are never fetched, so never retired."""
        return normalize_sku(Provider.AZURE, sku) in self.sizes

    def _items(self, client: httpx.Client, region: str, price_type: str) -> list[dict]:
        params: dict[str, str] | None = {
            "api-version": API_VERSION,
            "$filter": (f"serviceName eq '{SERVICE}' and armRegionName eq '{region}' "
                        f"and priceType eq '{price_type}'"),
            # Documented filter: only each meter's primary region, no duplicates.
            "meterRegion": "'primary'",
        }
        url = self.base_url
        items: list[dict] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = get_json(client, url, provider="azure", policy=self.policy, params=params)
            if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
                raise AdapterError(f"azure: unexpected answer from {urlsplit(url).netloc}: "
                                   "no Items list")
            items.extend(i for i in page["Items"] if isinstance(i, dict))
            link = page.get("NextPageLink")
            if not link:
                return items
            url, params = self._rebase(link), None
            if url in seen:
                raise AdapterError(f"azure: paging loop at {url}")
            seen.add(url)
        raise AdapterError(f"azure: more than {MAX_PAGES} pages for {region} {price_type}")

    def _rebase(self, link: str) -> str:
        """The next page on the configured endpoint: the link's path and query, our scheme
        and host. The API always links to itself, and this keeps a refresh pointed at a
        mirror (or a test server) from wandering off to the public internet."""
        ours, theirs = urlsplit(self.base_url), urlsplit(link)
        return urlunsplit((ours.scheme, ours.netloc, theirs.path, theirs.query, ""))

    def _keep(self, best: dict[tuple[str, PurchaseOption], tuple[PriceRow, str]],
              item: Mapping[str, Any], region: str) -> None:
        row = self._parse(item, region)
        if row is None:
            return
        key = (row.sku.lower(), row.purchase_option)
        started = str(item.get("effectiveStartDate", ""))
        if key in best:
            kept, kept_started = best[key]
            if kept.price_usd == row.price_usd:
                return
            self.skipped["conflicting prices for one size (kept the newest)"] += 1
            if started <= kept_started:
                return
        best[key] = (row, started)

    def _parse(self, item: Mapping[str, Any], region: str) -> PriceRow | None:
        arm = str(item.get("armSkuName") or "")
        sku_name = str(item.get("skuName") or "")
        why = None
        if not arm:
            why = "item without armSkuName"
        elif item.get("armRegionName") != region:
            why = "item of another region"
        elif "windows" in str(item.get("productName", "")).lower():
            why = "Windows price"
        elif sku_name.endswith(" Low Priority"):
            why = "Low Priority price"
        elif item.get("unitOfMeasure") != "1 Hour":
            why = f"unit {item.get('unitOfMeasure')!r}, not 1 Hour"
        elif item.get("currencyCode", "USD") != "USD":
            why = "price not in USD"
        if why:
            self.skipped[why] += 1
            return None
        try:
            price = float(item["retailPrice"])
        except (KeyError, TypeError, ValueError):
            self.skipped["item without a retailPrice"] += 1
            return None
        kind = item.get("type")
        if kind == "Consumption":
            option = (PurchaseOption.SPOT if sku_name.endswith(" Spot")
                      else PurchaseOption.ON_DEMAND)
        elif kind == "Reservation":
            term = str(item.get("reservationTerm"))
            if term not in HOURS_IN_TERM:
                self.skipped[f"reservation term {term!r}"] += 1
                return None
            option = _TERM_OPTION[term]
            price = round(price / HOURS_IN_TERM[term], 6)  # term total -> per hour
        else:
            self.skipped[f"price type {kind!r}"] += 1
            return None
        if not price > 0:
            self.skipped["zero price"] += 1  # zero means "not sold", never "free"
            return None
        specs = self.sizes.get(normalize_sku(Provider.AZURE, arm))
        if specs is None:
            self.skipped["size with unknown vCPU/memory"] += 1
            self.unknown_sizes.add(arm)
            return None
        try:
            as_of = date.fromisoformat(str(item.get("effectiveStartDate", ""))[:10])
        except ValueError:
            self.skipped["item without an effectiveStartDate"] += 1
            return None
        try:
            return PriceRow(
                provider=Provider.AZURE, service=SERVICE, product_family=ProductFamily.COMPUTE,
                sku=arm, region=region, unit=Unit.HOUR, price_usd=price, purchase_option=option,
                as_of=as_of, source=SOURCE, attributes=specs)
        except CatalogError as exc:
            self.skipped[f"invalid row: {exc}"] += 1
            return None


def _spec_attributes(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Only the spec attributes: the size table may be rows of the catalog, whose other
    attributes describe those rows, not the size."""
    return {k: attrs[k] for k in (*COMPUTE_ATTRIBUTES, *GPU_ATTRIBUTES) if k in attrs}
