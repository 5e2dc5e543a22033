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
