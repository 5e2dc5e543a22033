"""EC2 compute prices from the AWS Price List Query API (``pricing:GetProducts``).

One query per region (and per instance family when families are given) with the
filters that leave one product per instance type: Linux, shared tenancy, no
pre-installed software, capacity status "Used" (not reservation placeholders).
Each product in ``PriceList`` is a JSON document as a string; its
``terms.OnDemand`` gives the on-demand hourly rate and its ``terms.Reserved``
the standard, no-upfront 1-year and 3-year reserved hourly rates.

The Price List carries no GPU model, and its ``gpuMemory`` is the GPU memory of
the whole instance ("96 GB" on a 4-GPU g5.12xlarge). The catalog's
``gpu_memory_gib`` is memory *per GPU*, so it is ``gpuMemory / gpu``; the
model comes from the instance family (``GPU_MODELS``). Specs the caller already
knows (``known_specs``, e.g. from the existing catalog) take precedence for both.

boto3's own retries are off (``total_max_attempts=1``): throttling, 5xx and
network failures go through ``with_retries`` so one policy, with an injectable
sleep, governs every adapter.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

import boto3
import botocore.exceptions as bce
from botocore.config import Config

from infra_mind.catalog.adapters.base import AdapterError, RetryableError, host_of, with_retries
from infra_mind.catalog.model import (
    CatalogError,
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
    Unit,
)
from infra_mind.kit.http import parse_retry_after
from infra_mind.kit.retry import RetryPolicy

SOURCE = "https://api.pricing.us-east-1.amazonaws.com (AWS Price List Query API, GetProducts)"
SERVICE = "AmazonEC2"
#: The Price List Query API answers in us-east-1 (also eu-central-1, ap-south-1); the
#: prices it returns cover every region.
API_REGION = "us-east-1"
DEFAULT_HOST = "api.pricing.us-east-1.amazonaws.com"

#: GPU model by instance family (aws.amazon.com/ec2/instance-types/, "Accelerated
#: Computing"); the Price List names only the count and the memory.
GPU_MODELS: dict[str, str] = {
    "p3": "NVIDIA V100", "p3dn": "NVIDIA V100", "p4d": "NVIDIA A100", "p4de": "NVIDIA A100",
    "p5": "NVIDIA H100", "p5e": "NVIDIA H200", "p5en": "NVIDIA H200",
    "g3": "NVIDIA M60", "g3s": "NVIDIA M60", "g4dn": "NVIDIA T4",
    "g4ad": "AMD Radeon Pro V520", "g5": "NVIDIA A10G", "g5g": "NVIDIA T4G",
    "g6": "NVIDIA L4", "gr6": "NVIDIA L4", "g6e": "NVIDIA L40S",
}

_THROTTLING_CODES = {"ThrottlingException", "Throttling", "TooManyRequestsException",
                     "RequestLimitExceeded", "SlowDown"}
_SERVER_CODES = {"InternalErrorException", "InternalFailure", "ServiceUnavailable",
                 "ServiceUnavailableException", "InternalServerError"}
_NUMBER = re.compile(r"[\d,]*\.?\d+")
_RESERVED_TERMS = {"1yr": PurchaseOption.RESERVED_1Y, "3yr": PurchaseOption.RESERVED_3Y}


class AwsPriceSource:
    """EC2 Linux compute prices (on-demand, reserved 1y/3y) for the given regions."""

    provider = Provider.AWS

    def __init__(self, *, endpoint_url: str | None = None,
                 session: boto3.session.Session | None = None,
                 instance_families: list[str] | None = None,
                 known_specs: Mapping[str, Mapping[str, Any]] | None = None,
                 policy: RetryPolicy | None = None, timeout_s: float = 30.0,
                 today: Callable[[], date] = date.today) -> None:
        """``endpoint_url`` overrides the API's address (a local replay server in tests);
        ``session`` supplies credentials (default: boto3's usual chain);
        ``instance_families`` (e.g. ``["m5", "g5"]``) narrows the query;
        ``known_specs`` maps instance type to attributes to prefer for GPU facts."""
        self.endpoint_url = endpoint_url
        self.session = session
        self.instance_families = instance_families
        self.known_specs = {k.lower(): v for k, v in (known_specs or {}).items()}
        self.policy = policy or RetryPolicy()
        self.timeout_s = timeout_s
        self.today = today
        self.skipped: Counter[str] = Counter()
        self.host = host_of(endpoint_url) if endpoint_url else DEFAULT_HOST

    def fetch(self, regions: list[str]) -> list[PriceRow]:
        """Every priced instance type in ``regions``; raises ``AdapterError``."""
        self.skipped = Counter()
        client = self._client()
        rows: list[PriceRow] = []
        seen: set[tuple[str, str, PurchaseOption]] = set()
        for region in regions:
            for family in self.instance_families or [None]:
                for item in self._products(client, region, family):
                    for row in self._parse(item, region, family):
                        key = (row.sku, row.region, row.purchase_option)
                        if key in seen:
                            self.skipped["duplicate product for one instance type"] += 1
                            continue
                        seen.add(key)
                        rows.append(row)
        return rows

    def covers(self, sku: str) -> bool:
        """Every Linux instance type, or those of ``instance_families`` when given."""
        return not self.instance_families or sku.split(".")[0] in self.instance_families

    # -- the API -----------------------------------------------------------------

    def _client(self) -> Any:
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                        connect_timeout=self.timeout_s, read_timeout=self.timeout_s)
        session = self.session or boto3.session.Session()
        try:
            return session.client("pricing", region_name=API_REGION,
                                  endpoint_url=self.endpoint_url, config=config)
        except bce.BotoCoreError as exc:
            raise AdapterError(f"aws: cannot create the pricing client: {exc}") from None

    def _products(self, client: Any, region: str, family: str | None) -> Iterator[str]:
        filters = [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
            {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
            {"Type": "TERM_MATCH", "Field": "tenancy", "Value": "Shared"},
            {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
            {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"},
        ]
        if family:
            # "m5." matches m5.large but not m5d.large; _parse re-checks the family.
            filters.append({"Type": "CONTAINS", "Field": "instanceType", "Value": f"{family}."})
        token: str | None = None
        while True:
            request: dict[str, Any] = {"ServiceCode": SERVICE, "Filters": filters,
                                       "FormatVersion": "aws_v1", "MaxResults": 100}
            if token:
                request["NextToken"] = token
            page = with_retries(lambda r=request: self._call(client, r), self.policy, "aws")
            yield from page.get("PriceList", [])
            token = page.get("NextToken")
            if not token:
                return

    def _call(self, client: Any, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return client.get_products(**request)
        except bce.ClientError as exc:
            error = exc.response.get("Error", {})
            meta = exc.response.get("ResponseMetadata", {})
            code = str(error.get("Code", ""))
            status = int(meta.get("HTTPStatusCode") or 0)
            message = error.get("Message") or ""
            retry_after = parse_retry_after(
                (meta.get("HTTPHeaders") or {}).get("retry-after"), self.policy.now())
            if code in _THROTTLING_CODES or status == 429:
                raise RetryableError(f"rate limited by {self.host} ({code or status})",
                                     retry_after_s=retry_after, rate_limited=True) from None
            if status >= 500 or code in _SERVER_CODES:
                raise RetryableError(f"{self.host} answered HTTP {status} {code}".rstrip(),
                                     retry_after_s=retry_after) from None
            raise AdapterError(f"aws: {self.host} refused the request: {code or status}: "
                               f"{message}") from None
        except bce.NoCredentialsError:
            raise AdapterError(
                "aws: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "or AWS_PROFILE); the Price List API needs a signed request") from None
        except (bce.ConnectTimeoutError, bce.ReadTimeoutError) as exc:
            raise RetryableError(f"timed out talking to {self.host}: "
                                 f"{type(exc).__name__}") from None
        except (bce.ConnectionError, bce.HTTPClientError) as exc:
            raise RetryableError(
                f"network unreachable ({self.host}): {type(exc).__name__}: {exc}") from None
        except bce.BotoCoreError as exc:
            raise AdapterError(f"aws: {self.host}: {type(exc).__name__}: {exc}") from None

    # -- parsing -----------------------------------------------------------------

    def _parse(self, item: str, region: str, family: str | None) -> list[PriceRow]:
        try:
            doc = json.loads(item)
            attrs = doc["product"]["attributes"]
            sku = attrs["instanceType"]
        except (ValueError, KeyError, TypeError):
            self.skipped["unreadable Price List item"] += 1
            return []
        if family and sku.split(".")[0] != family:
            return []  # a CONTAINS match from another family (e.g. "xm5.large")
        if attrs.get("regionCode", region) != region:
            self.skipped["product of another region"] += 1
            return []
        specs = self._specs(sku, attrs)
        if specs is None:
            return []
        as_of = _date_of(doc.get("publicationDate")) or self.today()
        prices = _on_demand(doc.get("terms", {})) + _reserved(doc.get("terms", {}))
        rows = []
        for option, price in prices:
            if not price > 0:
                # Zero means "not sold here" in the Price List, never "free".
                self.skipped["zero price"] += 1
                continue
            try:
                rows.append(PriceRow(
                    provider=Provider.AWS, service=SERVICE, product_family=ProductFamily.COMPUTE,
                    sku=sku, region=region, unit=Unit.HOUR, price_usd=price,
                    purchase_option=option, as_of=as_of, source=SOURCE, attributes=specs))
            except CatalogError as exc:
                self.skipped[f"invalid row: {exc}"] += 1
        return rows

    def _specs(self, sku: str, attrs: Mapping[str, Any]) -> dict[str, Any] | None:
        vcpu = _number(attrs.get("vcpu"))
        memory = _number(attrs.get("memory"))
        if not vcpu or not memory:
            self.skipped["no vCPU or memory in the product"] += 1
            return None
        processor = f"{attrs.get('physicalProcessor', '')} {attrs.get('processorArchitecture', '')}"
        words = processor.lower().split()
        arm = "graviton" in processor.lower() or any(
            w.startswith(("arm", "aarch64")) for w in words)
        specs: dict[str, Any] = {"vcpu": int(vcpu), "memory_gib": float(memory),
                                 "arch": "arm64" if arm else "x86_64"}
        gpus = int(_number(attrs.get("gpu")) or 0)
        if gpus:
            known = self.known_specs.get(sku.lower(), {})
            model = known.get("gpu_model") or GPU_MODELS.get(sku.split(".")[0])
            total = _number(attrs.get("gpuMemory"))
            per_gpu = known.get("gpu_memory_gib") or (total / gpus if total else None)
            if not model or not per_gpu:
                self.skipped["GPU instance with unknown GPU model or memory"] += 1
                return None
            specs.update(gpu_count=gpus, gpu_model=model, gpu_memory_gib=float(per_gpu))
        return specs


def _on_demand(terms: Mapping[str, Any]) -> list[tuple[PurchaseOption, float]]:
    for term in (terms.get("OnDemand") or {}).values():
        price = _hourly(term)
        if price is not None:
            return [(PurchaseOption.ON_DEMAND, price)]
    return []


def _reserved(terms: Mapping[str, Any]) -> list[tuple[PurchaseOption, float]]:
    """Standard, no-upfront reservations: their single dimension is the hourly rate
    (partial and all upfront add an upfront fee, which an hourly row cannot carry)."""
    out: dict[PurchaseOption, float] = {}
    for term in (terms.get("Reserved") or {}).values():
        ta = term.get("termAttributes") or {}
        option = _RESERVED_TERMS.get(ta.get("LeaseContractLength", ""))
        if (option is None or ta.get("PurchaseOption") != "No Upfront"
                or ta.get("OfferingClass") != "standard" or option in out):
            continue
        price = _hourly(term)
        if price is not None:
            out[option] = price
    return sorted(out.items())


def _hourly(term: Mapping[str, Any]) -> float | None:
    for dim in (term.get("priceDimensions") or {}).values():
        if dim.get("unit") in ("Hrs", "Hours"):
            try:
                return float(dim["pricePerUnit"]["USD"])
            except (KeyError, TypeError, ValueError):
                return None
    return None


def _number(value: Any) -> float | None:
    """The first number in a Price List attribute: "8 GiB" -> 8, "3,904 GiB" -> 3904."""
    if value is None:
        return None
    match = _NUMBER.search(str(value))
    return float(match.group().replace(",", "")) if match else None


def _date_of(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
