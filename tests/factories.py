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
