"""The data-quality report the build writes: ``docs/catalog-data-quality.md``."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from infra_mind.catalog.build.commitments import MIN_POINTS as COMMITMENT_POINTS
from infra_mind.catalog.build.derive import MIN_PAIRS, POOR_P90_PCT, Accuracy
from infra_mind.catalog.build.packaged import Dropped
from infra_mind.catalog.build.quality import AGREEMENT_TOLERANCE, Disagreement
from infra_mind.catalog.model import Basis, PriceRow, ProductFamily, PurchaseOption
from infra_mind.catalog.regions import regions_of


@dataclass
class SourceEntry:
    """One input of the build, as the report lists it."""

    name: str
    where: str
    as_of: str
    sha256: str
    licence: str = ""
    note: str = ""


@dataclass
class BuildFacts:
    generated_at: date
    rows: list[PriceRow]
    sources: list[SourceEntry]
    dropped: list[Dropped]
    disagreements: list[Disagreement]
    accuracy: list[Accuracy]
    withheld: list[str]
    spec_changes: list[str] = field(default_factory=list)
    named_conflicts: list[str] = field(default_factory=list)


#: The cells the engine prices for the examples' kinds: (label, family, attributes wanted).
NEEDED: list[tuple[str, ProductFamily, dict[str, str]]] = [
    ("machines on demand", ProductFamily.COMPUTE, {}),
    ("PostgreSQL single", ProductFamily.DATABASE, {"engine": "postgres", "deployment": "single"}),
    ("MySQL single", ProductFamily.DATABASE, {"engine": "mysql", "deployment": "single"}),
    ("database storage", ProductFamily.DATABASE_STORAGE, {}),
    ("managed cache", ProductFamily.CACHE, {}),
    ("load balancer (hourly)", ProductFamily.LOAD_BALANCER, {"dimension": "hourly"}),
    ("NAT (hourly)", ProductFamily.NAT_GATEWAY, {"dimension": "hourly"}),
    ("block storage", ProductFamily.BLOCK_STORAGE, {}),
    ("object storage standard", ProductFamily.OBJECT_STORAGE, {"storage_class": "standard"}),
    ("object storage infrequent", ProductFamily.OBJECT_STORAGE,
     {"storage_class": "infrequent"}),
    ("internet egress", ProductFamily.EGRESS, {}),
    ("Kubernetes fee", ProductFamily.KUBERNETES, {}),
    ("CDN data", ProductFamily.CDN, {"dimension": "data"}),
]


#: What no dated source gave (searched 2026-12), and what was found but not loaded.
KNOWN_GAPS = [
    "", "## Known gaps", "",
    "* **Azure commitments**: no dated Reserved VM Instance rate was found for a covered "
    "region. The rates of polandcentral (Azure's pricing-page data as "
    "sstybel/azure-vm-price-importer packed it, 2026-01-26) are the list points; every "
    "covered region's rate is derived from them (R2), and Fsv2 and the B-series v1, not "
    "sold in polandcentral, take the family fallback. Searched and not used: "
    "jokamotonpi/azure-price-mirror's full westus price list (Reservation rows without "
    "their term, in a file over 4 MiB that no snapshot carries), "
    "andy-diericks/azure-pricing-radar (1-year savings-plan rates of westeurope, "
    "northeurope and francecentral: another product than a reservation), "
    "babajideoyelayo-carbonandfinch/azure-prices (the first 1,000 rows of the global list "
    "only), vantage-sh/ec2instances.info's Azure data (not committed; its test mock is "
    "over 4 MiB).",
    "* **AWS commitments**: per-SKU Reserved Instance rates were found for t3.medium "
    "(us-east-1), m6a.xlarge and m6a.2xlarge (us-east-1, eu-west-1; a Vantage API extract "
    "of 2026-10-01) and x2iedn.32xlarge (every region); R2 derives the other EC2 machines "
    "from them. The family fallback's 3-year error is large because x2iedn's 3-year "
    "discount is far deeper than t3's and m6a's (each derived row's rule states the ratio "
    "it took). RDS and "
    "ElastiCache RI lines exist in infracost's goldens (db.t3.large MySQL, "
    "cache.m6g.12xlarge) but are not loaded: the engine looks a commitment up by SKU alone "
    "and would take the Multi-AZ row for a Single-AZ database.",
    "* **RDS for PostgreSQL/MySQL** instance prices are Infracost's dump as of 2024-08-09 "
    "(AWS's own page data for them is keyed by opaque hashes whose attributes are in files "
    "over 4 MiB, not stored); **EC2 and Azure spot** prices are the same dump's, and spot "
    "prices move daily.",
    "* **Azure** managed databases, caches, disks, blob, egress, NAT and AKS, and **GCP** "
    "Cloud SQL and Memorystore, are listed in one to three regions only; the other regions "
    "are derived (R1, compute fallback, marked poor where measured so).",
    "* **Not found**: Cloud CDN cache fill by region (the stored page gives only a range, "
    "$0.01-0.04/GiB); Azure Front Door Standard/Premium in a dated first-party source (Azure "
    "CDN is priced as Standard from Microsoft (classic), which takes no new instances since "
    "2025-10-01 and retires on 2027-09-30); AWS NAT and EBS gp3 outside us-east-1/us-east-2 "
    "(derived); Azure and GCP inter-region transfer.",
]


def empty_cells(rows: Iterable[PriceRow]) -> dict[str, dict[str, list[str]]]:
    """provider -> need -> regions with no price (list or derived) for it."""
    have: dict[tuple[str, str, ProductFamily], list[PriceRow]] = defaultdict(list)
    for r in rows:
        if r.purchase_option is PurchaseOption.ON_DEMAND:
            have[(r.provider.value, r.region, r.product_family)].append(r)
    out: dict[str, dict[str, list[str]]] = {}
    for provider in ("aws", "azure", "gcp"):
        for label, family, attrs in NEEDED:
            missing = [reg.code for reg in regions_of(provider)
                       if not any(all(str(r.attributes.get(k)) == v for k, v in attrs.items())
                                  for r in have[(provider, reg.code, family)])]
            if missing:
                out.setdefault(provider, {})[label] = missing
    return out


def render(facts: BuildFacts) -> str:
    rows = facts.rows
    lines = [
        "# Price catalog: data-quality report", "",
        f"Generated {facts.generated_at.isoformat()} by `python -m infra_mind.catalog.build`. "
        "Do not edit by hand; run the build again.", "",
        "## Sources", "",
        "Every input the build read: the pinned wheels, the recorded files (facts this "
        "project's parsers extracted from public repositories with "
        "`python -m infra_mind.catalog.build.record`; the repositories are not committed) and "
        "the curated YAML files. *Date* is the date of the prices (the file's own stamp where it "
        "has one, else the commit date, as noted); *sha256* is of the source file as read.", "",
        "| input | from | date | sha256 | licence | note |", "|---|---|---|---|---|---|",
        *[f"| {s.name} | {s.where} | {s.as_of} | `{s.sha256}` | {s.licence} | {s.note} |"
          for s in facts.sources], "",
        "## What the snapshot holds", "",
        f"{len(rows)} price rows: "
        f"{sum(1 for r in rows if r.basis is Basis.LIST)} list, "
        f"{sum(1 for r in rows if r.basis is Basis.DERIVED)} derived; "
        f"{sum(1 for r in rows if r.product_family is ProductFamily.COMPUTE and r.purchase_option is PurchaseOption.ON_DEMAND)} "  # noqa: E501
        "on-demand compute rows.", "",
        "| provider | family | list | derived |", "|---|---|---|---|",
    ]
    counts = Counter((r.provider.value, r.product_family.value, r.basis.value) for r in rows)
    for provider, family in sorted({(p, f) for p, f, _ in counts}):
        lines.append(f"| {provider} | {family} | {counts[(provider, family, 'list')]} | "
                     f"{counts[(provider, family, 'derived')]} |")
    options = Counter((r.provider.value, r.purchase_option.value, r.basis.value)
                      for r in rows if r.product_family is ProductFamily.COMPUTE)
    lines += ["", "Compute rows by purchase option:", "",
              "| provider | purchase option | list | derived |", "|---|---|---|---|"]
    for provider, option in sorted({(p, o) for p, o, _ in options}):
        lines.append(f"| {provider} | {option} | {options[(provider, option, 'list')]} | "
                     f"{options[(provider, option, 'derived')]} |")
    lines += _derived_section(facts) + _empty_section(rows) + KNOWN_GAPS
    lines += _refused_section(facts.dropped)
    lines += _disagreement_section(facts)
    return "\n".join(lines) + "\n"


def _derived_section(facts: BuildFacts) -> list[str]:
    lines = [
        "", "## Derived prices", "",
        "Where no list price exists for a cell the engine needs, one rule computes a price from "
        "list prices. Each derived row carries `basis: derived`, its rule with its inputs, the "
        "oldest input's date and its inputs' sources; tables mark it with \u2248. A list price "
        "always wins. Nothing else is estimated.", "",
        f"* **R1, region ratio.** The SKU's list price in a reference region (us-east-1, eastus, "
        f"us-central1, else the first region that lists it) times the median ratio "
        f"region/reference over the prices of the same ratio family listed in both (at least "
        f"{MIN_PAIRS}): the same provider and machine family for machines, the same service and "
        f"product family (and engine) otherwise. Where the service has no list price in the "
        f"region at all, the ratio of the provider's general-purpose machines (AWS m6i, Azure "
        f"Dsv5, GCP n2) stands in, and the rule says so (\"compute fallback\").",
        "* **R2, commitment ratio.** An AWS or Azure machine's on-demand list price times a "
        "1- or 3-year committed / on-demand ratio of the same provider's listed rates (EC2 "
        "Standard Reserved Instance, no upfront; Azure Reserved VM Instance): the median of "
        f"its own family's listed points where at least {COMMITMENT_POINTS} are listed, else "
        "the median of the listed families' medians (\"family fallback\", its measured error "
        "in the rule). Ratios are never taken from another provider. Azure's listed "
        "reservation rates are polandcentral's only (a reference-only region, Azure's own "
        "pricing-page data of 2026-01-26): how a ratio carries from there to another region "
        "is not measured. GCP's commitments are all listed.", "",
        "Accuracy, measured leave-one-out against the list prices that exist (each list price "
        "hidden in turn, derived by the rule from the others, compared): absolute error in %. "
        f"A rule whose p90 error exceeds {POOR_P90_PCT:g}% for a family is marked poor. The "
        "compute fallback is poor for most families other than machines and block storage "
        "(service prices do not follow machine prices from region to region): where the "
        "engine prices the family (databases, caches, storage, load balancers, NAT, egress, "
        "Kubernetes fees) a fallback price is still given, because the alternative is a "
        "component left out of a total, and its rule states the measured error (\"poor\"); "
        "for the families the engine does not price (CDN, inter-region transfer) a poor "
        "fallback is not applied.", "",
        "| rule | group | n | median error % | p90 error % | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for a in facts.accuracy:
        verdict = "poor" if a.poor else "ok"
        lines.append(f"| {a.rule} | {a.group} | {a.n} | {_pct(a.median_pct)} | "
                     f"{_pct(a.p90_pct)} | {verdict} |")
    if facts.withheld:
        lines += ["", "Compute fallback withheld (poor) for: " + ", ".join(facts.withheld) + "."]
    return lines


def _empty_section(rows: list[PriceRow]) -> list[str]:
    lines = ["", "## Empty cells", "",
             "Cells the engine prices for the example workloads that have neither a list nor a "
             "derived price (on demand), by provider:", ""]
    empty = empty_cells(rows)
    if not empty:
        return [*lines, "None."]
    lines += ["| provider | need | regions without a price |", "|---|---|---|"]
    for provider, needs in sorted(empty.items()):
        lines += [f"| {provider} | {need} | {len(regs)}: {', '.join(regs)} |"
                  for need, regs in needs.items()]
    return lines


def _refused_section(dropped: list[Dropped]) -> list[str]:
    by_reason: dict[str, list[Dropped]] = defaultdict(list)
    for d in dropped:
        by_reason[_reason_class(d.reason)].append(d)
    lines = ["", "## Values refused", "",
             "A refused value is absent from the snapshot: nothing downstream may invent it.", "",
             "| reason | values |", "|---|---|"]
    lines += [f"| {reason} | {len(ds)} |" for reason, ds in sorted(by_reason.items())]
    detailed = [d for d in dropped if not d.reason.startswith(("zero price", "size not in"))]
    if detailed:
        lines += ["", "| provider | sku | region | value | reason | source |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {d.provider} | {d.sku} | {d.region} | {d.value} | {d.reason} | "
                  f"{_short(d.source)} |"
                  for d in sorted(detailed, key=lambda d: (d.provider, d.sku, d.region,
                                                           d.reason))]
    return lines


def _disagreement_section(facts: BuildFacts) -> list[str]:
    lines = ["", "## Sources that disagree", "",
             f"For one price (provider, SKU, region, purchase option, variant) the newer dated "
             f"source wins; a difference above {AGREEMENT_TOLERANCE:.0%} between the two is listed "
             "here with both figures and dates.", ""]
    if facts.named_conflicts:
        lines += ["The three conflicts named in issue #11, as settled in the snapshot:", ""]
        lines += [f"* {c}" for c in facts.named_conflicts] + [""]
    if facts.spec_changes:
        lines += ["Machine specs corrected to the newest source (one line per SKU):", ""]
        lines += [f"* {c}" for c in facts.spec_changes] + [""]
    pairs = Counter((_short(d.kept_source), _short(d.other_source))
                    for d in facts.disagreements)
    if not pairs:
        return [*lines, "None."]
    lines += ["| kept (newer) source | other (older) source | prices that differ |",
              "|---|---|---|"]
    lines += [f"| {k} | {o} | {n} |" for (k, o), n in sorted(pairs.items())]
    lines += ["", "| price | kept | kept from | other | other from | difference |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {d.key} | {d.kept_price} ({d.kept_as_of}) | {_short(d.kept_source)} | "
              f"{d.other_price} ({d.other_as_of}) | {_short(d.other_source)} | "
              f"{d.diff_pct:+.1f}% |"
              for d in sorted(facts.disagreements, key=lambda d: d.key)]
    return lines


def _short(source: str) -> str:
    return source.split(" (")[0] if source.startswith("github.com/") else source


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1f}"


def _reason_class(reason: str) -> str:
    if "per-size rate" in reason:
        return "off its family's per-size rate (wrong variant scraped)"
    if "regional price ratio" in reason:
        return "GPU size off its family's regional price ratio (wrong variant scraped)"
    if "series' Linux per" in reason:
        return "Azure size above its series' Linux rate (another meter, e.g. Windows)"
    if reason.startswith("tiered price rises"):
        return "tiered price rising with volume (tier mapped to the wrong meter)"
    return reason.split(":")[0] if reason.startswith(("on_demand", "preemptible", "1yr", "3yr")) \
        else reason
