"""The regions the catalog covers, with the facts the engine needs of them.

``group`` is the data-residency group a requirements file names (``us``,
``eu``, ``uk``, ``ca``, ``apac``, ``sa``); ``country`` is ISO 3166-1 alpha-2;
``zones`` is the number of availability zones the provider documents for the
region (its public region pages: aws.amazon.com/about-aws/global-infrastructure/
regions_az/, learn.microsoft.com/azure/reliability/availability-zones-region-support,
cloud.google.com/compute/docs/regions-zones), read 2026-11.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra_mind.catalog.model import Provider


@dataclass(frozen=True, slots=True)
class Region:
    provider: Provider
    code: str
    name: str
    group: str
    country: str
    zones: int


_AWS = [
    ("us-east-1", "US East (N. Virginia)", "us", "US", 6),
    ("us-east-2", "US East (Ohio)", "us", "US", 3),
    ("us-west-1", "US West (N. California)", "us", "US", 2),
    ("us-west-2", "US West (Oregon)", "us", "US", 4),
    ("ca-central-1", "Canada (Central)", "ca", "CA", 3),
    ("eu-west-1", "Europe (Ireland)", "eu", "IE", 3),
    ("eu-central-1", "Europe (Frankfurt)", "eu", "DE", 3),
    ("eu-west-3", "Europe (Paris)", "eu", "FR", 3),
    ("eu-north-1", "Europe (Stockholm)", "eu", "SE", 3),
    ("eu-west-2", "Europe (London)", "uk", "GB", 3),
    ("ap-southeast-1", "Asia Pacific (Singapore)", "apac", "SG", 3),
    ("ap-southeast-2", "Asia Pacific (Sydney)", "apac", "AU", 3),
    ("ap-northeast-1", "Asia Pacific (Tokyo)", "apac", "JP", 3),
    ("ap-south-1", "Asia Pacific (Mumbai)", "apac", "IN", 3),
    ("sa-east-1", "South America (São Paulo)", "sa", "BR", 3),
]
_AZURE = [
    ("eastus", "East US", "us", "US", 3),
    ("eastus2", "East US 2", "us", "US", 3),
    ("centralus", "Central US", "us", "US", 3),
    ("westus2", "West US 2", "us", "US", 3),
    ("canadacentral", "Canada Central", "ca", "CA", 3),
    ("westeurope", "West Europe (Netherlands)", "eu", "NL", 3),
    ("northeurope", "North Europe (Ireland)", "eu", "IE", 3),
    ("francecentral", "France Central", "eu", "FR", 3),
    ("germanywestcentral", "Germany West Central", "eu", "DE", 3),
    ("uksouth", "UK South", "uk", "GB", 3),
    ("southeastasia", "Southeast Asia (Singapore)", "apac", "SG", 3),
    ("australiaeast", "Australia East", "apac", "AU", 3),
    ("japaneast", "Japan East", "apac", "JP", 3),
    ("centralindia", "Central India", "apac", "IN", 3),
    ("brazilsouth", "Brazil South", "sa", "BR", 3),
]
_GCP = [
    ("us-central1", "Iowa", "us", "US", 4),
    ("us-east1", "South Carolina", "us", "US", 3),
    ("us-east4", "Northern Virginia", "us", "US", 3),
    ("us-west2", "Los Angeles", "us", "US", 3),
    ("northamerica-northeast1", "Montréal", "ca", "CA", 3),
    ("europe-west1", "Belgium", "eu", "BE", 3),
    ("europe-west3", "Frankfurt", "eu", "DE", 3),
    ("europe-west4", "Netherlands", "eu", "NL", 3),
    ("europe-north1", "Finland", "eu", "FI", 3),
    ("europe-west2", "London", "uk", "GB", 3),
    ("asia-southeast1", "Singapore", "apac", "SG", 3),
    ("australia-southeast1", "Sydney", "apac", "AU", 3),
    ("asia-northeast1", "Tokyo", "apac", "JP", 3),
    ("asia-south1", "Mumbai", "apac", "IN", 3),
    ("southamerica-east1", "São Paulo", "sa", "BR", 3),
]

REGIONS: dict[tuple[Provider, str], Region] = {
    (provider, code): Region(provider, code, name, group, country, zones)
    for provider, table in ((Provider.AWS, _AWS), (Provider.AZURE, _AZURE), (Provider.GCP, _GCP))
    for code, name, group, country, zones in table
}

#: Residency groups a requirements file may name.
GROUPS = ("us", "ca", "eu", "uk", "apac", "sa")


def regions_of(provider: Provider | str) -> list[Region]:
    """The covered regions of one provider, in table order."""
    p = Provider(provider)
    return [r for (prov, _), r in REGIONS.items() if prov is p]


def region(provider: Provider | str, code: str) -> Region | None:
    return REGIONS.get((Provider(provider), code))


def regions_in_groups(groups: list[str] | tuple[str, ...]) -> list[Region]:
    """Every covered region inside the given residency groups."""
    wanted = set(groups)
    return [r for r in REGIONS.values() if r.group in wanted]
