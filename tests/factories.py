"""Small builders for test data."""

from datetime import date

from infra_mind.catalog.model import PriceRow, ProductFamily, Provider, PurchaseOption, Unit


def make_row(**over):
    fields = dict(provider=Provider.AWS, service="AmazonEC2", product_family=ProductFamily.COMPUTE,
                  sku="m5.large", region="us-east-1", unit=Unit.HOUR, price_usd=0.096,
                  purchase_option=PurchaseOption.ON_DEMAND, as_of=date(2026, 9, 6),
                  source="https://aws.amazon.com/ec2/pricing/on-demand/",
                  attributes={"vcpu": 2, "memory_gib": 8.0, "arch": "x86_64"})
    fields.update(over)
    return PriceRow(**fields)


def only_price(rows: list[PriceRow], provider: str, sku: str, region: str,
               tier_start: float | None = None, **attrs: object) -> float:
    """The price of the one row matching; fails the test unless exactly one matches."""
    found = [r for r in rows
             if r.provider.value == provider and r.sku == sku and r.region == region
             and r.tier_start == tier_start
             and all(r.attributes.get(k) == v for k, v in attrs.items())]
    assert len(found) == 1, (provider, sku, region, tier_start, attrs, found)
    return found[0].price_usd


#: A made-up two-person craft shop taking cards (PCI DSS) on a $60 budget: the WAF,
#: private subnets with NAT and keys PCI DSS asks for are most of its bill, and only the
#: processor's hosted payment page (a budget lever) brings it within budget.
CRAFT_SHOP = {
    "name": "craft shop", "users": ["gb"], "availability_target": 99.5,
    "compliance": ["pci_dss"], "business": {"monthly_budget_usd": 60, "horizon_months": 12},
    "workloads": [
        {"name": "shop", "type": "web_service", "peak_rps": 5, "avg_rps": 1,
         "cpu_ms_per_request": 60, "memory_gb": 1, "egress_gb_per_month": 20},
        {"name": "shop-db", "type": "database", "engine": "mysql", "storage_gb": 5}]}


def lecture_platform(budget: float) -> dict:
    """A made-up Indian edtech on GCP: 40 TB a month of lectures through the CDN is most of
    its bill, and grows with its students (8% a month)."""
    return {"name": "lectures", "users": ["IN", "AE"], "user_shares": {"IN": 90, "AE": 10},
            "business": {"monthly_budget_usd": budget, "growth_rate_monthly": 0.08},
            "availability_target": 99.5, "preferences": {"providers": ["gcp"]},
            "workloads": [
                {"name": "api", "type": "web_service", "peak_rps": 400, "avg_rps": 60,
                 "cpu_ms_per_request": 15, "memory_gb": 1, "peak_hours_per_day": 4,
                 "egress_gb_per_month": 300},
                {"name": "lectures", "type": "object_storage", "storage_gb": 8000,
                 "growth_gb_per_month": 600, "public": True, "egress_gb_per_month": 40000,
                 "requests_per_month": 20_000_000},
                {"name": "db", "type": "database", "engine": "postgres", "storage_gb": 100}]}
