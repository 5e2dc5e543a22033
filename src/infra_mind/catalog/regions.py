"""The regions the catalog covers, with the facts the engine needs of them.

``group`` is the data-residency group a requirements file names (``us``,
``eu``, ``uk``, ``ca``, ``apac``, ``sa``); ``country`` is ISO 3166-1 alpha-2;
``zones`` is the number of availability zones the provider documents for the
region (its public region pages: aws.amazon.com/about-aws/global-infrastructure/
regions_az/, learn.microsoft.com/azure/reliability/availability-zones-region-support,
cloud.google.com/compute/docs/regions-zones), read 2026-11. ``city`` is where the region is,
as a reader knows it; ``measured_at`` is the Azure region whose published round trips
(``engine.places``) stand for this one's: the same metro where Azure has a region there, else
the nearest one it measures (us-east-2 Ohio: North Central US, Illinois; ap-south-1 and
asia-south1 Mumbai: Central India, Pune; us-east1 South Carolina: East US 2, Virginia;
us-west2 Los Angeles: West US, California; Montréal: Canada East, Québec; europe-north1
Finland: Sweden Central). Those stand-ins are a few hundred kilometres off, a few ms of
fibre; ``engine.places`` says where that can matter.
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
    city: str
    measured_at: str


_AWS = [
    ("us-east-1", "US East (N. Virginia)", "us", "US", 6, "N. Virginia", "East US"),
    ("us-east-2", "US East (Ohio)", "us", "US", 3, "Ohio", "North Central US"),
    ("us-west-1", "US West (N. California)", "us", "US", 2, "N. California", "West US"),
    ("us-west-2", "US West (Oregon)", "us", "US", 4, "Oregon", "West US 2"),
    ("ca-central-1", "Canada (Central)", "ca", "CA", 3, "Montréal", "Canada East"),
    ("eu-west-1", "Europe (Ireland)", "eu", "IE", 3, "Ireland", "North Europe"),
    ("eu-central-1", "Europe (Frankfurt)", "eu", "DE", 3, "Frankfurt", "Germany West Central"),
    ("eu-west-3", "Europe (Paris)", "eu", "FR", 3, "Paris", "France Central"),
    ("eu-north-1", "Europe (Stockholm)", "eu", "SE", 3, "Stockholm", "Sweden Central"),
    ("eu-west-2", "Europe (London)", "uk", "GB", 3, "London", "UK South"),
    ("ap-southeast-1", "Asia Pacific (Singapore)", "apac", "SG", 3, "Singapore", "Southeast Asia"),
    ("ap-southeast-2", "Asia Pacific (Sydney)", "apac", "AU", 3, "Sydney", "Australia East"),
    ("ap-northeast-1", "Asia Pacific (Tokyo)", "apac", "JP", 3, "Tokyo", "Japan East"),
    ("ap-south-1", "Asia Pacific (Mumbai)", "apac", "IN", 3, "Mumbai", "Central India"),
    ("sa-east-1", "South America (São Paulo)", "sa", "BR", 3, "São Paulo", "Brazil South"),
]
_AZURE = [
    ("eastus", "East US", "us", "US", 3, "Virginia", "East US"),
    ("eastus2", "East US 2", "us", "US", 3, "Virginia", "East US 2"),
    ("centralus", "Central US", "us", "US", 3, "Iowa", "Central US"),
    ("westus2", "West US 2", "us", "US", 3, "Washington State", "West US 2"),
    ("canadacentral", "Canada Central", "ca", "CA", 3, "Toronto", "Canada Central"),
    ("westeurope", "West Europe (Netherlands)", "eu", "NL", 3, "Netherlands", "West Europe"),
    ("northeurope", "North Europe (Ireland)", "eu", "IE", 3, "Ireland", "North Europe"),
    ("francecentral", "France Central", "eu", "FR", 3, "Paris", "France Central"),
    ("germanywestcentral", "Germany West Central", "eu", "DE", 3, "Frankfurt",
     "Germany West Central"),
    ("uksouth", "UK South", "uk", "GB", 3, "London", "UK South"),
    ("southeastasia", "Southeast Asia (Singapore)", "apac", "SG", 3, "Singapore", "Southeast Asia"),
    ("australiaeast", "Australia East", "apac", "AU", 3, "Sydney", "Australia East"),
    ("japaneast", "Japan East", "apac", "JP", 3, "Tokyo", "Japan East"),
    ("centralindia", "Central India", "apac", "IN", 3, "Pune", "Central India"),
    ("brazilsouth", "Brazil South", "sa", "BR", 3, "São Paulo", "Brazil South"),
]
_GCP = [
    ("us-central1", "Iowa", "us", "US", 4, "Iowa", "Central US"),
    ("us-east1", "South Carolina", "us", "US", 3, "South Carolina", "East US 2"),
    ("us-east4", "Northern Virginia", "us", "US", 3, "N. Virginia", "East US"),
    ("us-west2", "Los Angeles", "us", "US", 3, "Los Angeles", "West US"),
    ("northamerica-northeast1", "Montréal", "ca", "CA", 3, "Montréal", "Canada East"),
    ("europe-west1", "Belgium", "eu", "BE", 3, "Belgium", "Belgium Central"),
    ("europe-west3", "Frankfurt", "eu", "DE", 3, "Frankfurt", "Germany West Central"),
    ("europe-west4", "Netherlands", "eu", "NL", 3, "Netherlands", "West Europe"),
    ("europe-north1", "Finland", "eu", "FI", 3, "Finland", "Sweden Central"),
    ("europe-west2", "London", "uk", "GB", 3, "London", "UK South"),
    ("asia-southeast1", "Singapore", "apac", "SG", 3, "Singapore", "Southeast Asia"),
    ("australia-southeast1", "Sydney", "apac", "AU", 3, "Sydney", "Australia East"),
    ("asia-northeast1", "Tokyo", "apac", "JP", 3, "Tokyo", "Japan East"),
    ("asia-south1", "Mumbai", "apac", "IN", 3, "Mumbai", "Central India"),
    ("southamerica-east1", "São Paulo", "sa", "BR", 3, "São Paulo", "Brazil South"),
]

REGIONS: dict[tuple[Provider, str], Region] = {
    (provider, code): Region(provider, code, *row)
    for provider, table in ((Provider.AWS, _AWS), (Provider.AZURE, _AZURE), (Provider.GCP, _GCP))
    for code, *row in table
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


def within(region: Region, places: list[str] | tuple[str, ...]) -> bool:
    """Whether ``region`` lies in one of ``places``: region groups and country codes."""
    return region.group in places or region.country in places


#: Each covered country's region group.
COUNTRY_GROUP = {r.country: r.group for r in REGIONS.values()}


def residency_groups(places: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The region groups ``places`` (groups and countries) lie in, once each, in order."""
    return tuple(dict.fromkeys(COUNTRY_GROUP.get(p, p) for p in places))
