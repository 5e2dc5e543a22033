"""Record the facts the catalog takes from public repositories.

``python -m infra_mind.catalog.build.record --source NAME --repo PATH`` reads
the pinned source files of one source from a local git clone (a bare mirror
works: files are read with ``git show COMMIT:PATH``), parses them with this
project's own parsers (``parse_aws``, ``parse_azure``, ``parse_gcp``) and
writes one recorded file per source file under ``recorded/`` (format in
``recorded.py``). Developers run it when a source is re-pinned; CI never does:
the build and its reproducibility test read the recorded files only.

Pins: every source file is named by repository, commit and path, with the date
of its prices and how that date was read (the file's own generation stamp
where it has one, otherwise the date of the commit that last changed it) and
the repository's licence. The repositories' code and files are never
committed; only the facts extracted from them are.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra_mind.catalog.build import parse_aws, parse_azure, parse_gcp
from infra_mind.catalog.build.recorded import RECORDED_DIR, Fact, render, sha256_hex
from infra_mind.catalog.model import CatalogError


@dataclass(frozen=True)
class Pin:
    """One source file: where it is, what it is dated, and how to read its facts."""

    name: str  # recorded/<name>.csv
    provider: str
    repository: str
    commit: str
    path: str
    licence: str
    parse: Callable[[bytes], list[Fact]]
    #: The date of the prices: from the file's own stamp (``date_of``) or the commit date.
    date_of: Callable[[bytes], str] | None = None
    date_basis: str = "commit date of the last commit that changed the file"
    note: str = ""


def _json(fn: Callable[[dict[str, Any]], list[Fact]]) -> Callable[[bytes], list[Fact]]:
    return lambda blob: fn(parse_aws.load_json(blob))


def _text(fn: Callable[[str], list[Fact]]) -> Callable[[bytes], list[Fact]]:
    return lambda blob: fn(blob.decode("utf-8"))


def _aurora_date(blob: bytes) -> str:
    return parse_aws.load_json(blob)["manifest"]["hawkFilePublicationDate"][:10]


def _cyclenerd_date(blob: bytes) -> str:
    stamp = parse_gcp.load_pricing(blob)["about"]["timestamp"]
    return datetime.fromtimestamp(int(stamp), tz=UTC).date().isoformat()


def _karpenter_aws_date(blob: bytes) -> str:
    return parse_azure.generated_at(blob.decode("utf-8"))


_QP = "QuinnyPig/aws-price-watcher"
_QP_NOTE = ("the JSON that AWS's public pricing pages load "
            "(b0.p.awsstatic.com/pricing/2.0/meteredUnitMaps/...), as the repository fetched it")
SOURCES: dict[str, list[Pin]] = {
    "quinnypig": [
        Pin("quinnypig-ec2", "aws", _QP, "07c8174c4b4cf6d5b81d805abe03fdf407a83024",
            "processed/ec2.json", "MIT", _json(parse_aws.ec2), note=_QP_NOTE),
        Pin("quinnypig-elasticache", "aws", _QP, "daa3fca6cad0b9cf218a31c17594442987bba3dc",
            "processed/elasticache.json", "MIT", _json(parse_aws.elasticache), note=_QP_NOTE),
        Pin("quinnypig-elb", "aws", _QP, "daa3fca6cad0b9cf218a31c17594442987bba3dc",
            "processed/elb.json", "MIT", _json(parse_aws.elb), note=_QP_NOTE),
        Pin("quinnypig-eks", "aws", _QP, "daa3fca6cad0b9cf218a31c17594442987bba3dc",
            "processed/eks.json", "MIT", _json(parse_aws.eks), note=_QP_NOTE),
        Pin("quinnypig-s3", "aws", _QP, "daa3fca6cad0b9cf218a31c17594442987bba3dc",
            "processed/s3.json", "MIT", _json(parse_aws.s3), note=_QP_NOTE),
        Pin("quinnypig-datatransfer", "aws", _QP, "daa3fca6cad0b9cf218a31c17594442987bba3dc",
            "processed/datatransfer.json", "MIT", _json(parse_aws.datatransfer),
            note=_QP_NOTE),
        Pin("quinnypig-rds-storage", "aws", _QP, "9ce8f7ff2526c0c157f97887b3fe4e497109350e",
            "processed/rds-storage.json", "MIT", _json(parse_aws.rds_storage), note=_QP_NOTE),
        Pin("quinnypig-cloudfront", "aws", _QP, "33830cdbf4afc215596e3248415a0d5cf0ab893b",
            "processed/cloudfront.json", "MIT", _json(parse_aws.cloudfront), note=_QP_NOTE),
        Pin("quinnypig-rds-aurora", "aws", _QP, "39d33bfce9df670a9efc866c8de5708ed22f922b",
            "raw/rds-aurora-ondemand.json", "MIT", _json(parse_aws.aurora),
            date_of=_aurora_date, date_basis="the file's manifest.hawkFilePublicationDate",
            note=_QP_NOTE),
    ],
    "karpenter-aws": [
        Pin("karpenter-aws-us-east-1", "aws", "aws/karpenter-provider-aws",
            "6fc13b5236fd04fd16ff3f9dc7490d0813994099",
            "pkg/providers/pricing/zz_generated.pricing_aws.go", "Apache-2.0",
            _text(parse_aws.karpenter_aws), date_of=_karpenter_aws_date,
            date_basis="the file's 'generated at' header",
            note="EC2 on-demand Linux, us-east-1 only"),
    ],
    "vantage": [
        Pin("vantage-ec2-reserved", "aws", "vantage-sh/ec2instances.info",
            "7c24b98f1490c6e0e5aeeb867cd5e3c4b7eed18b",
            "next/utils/mocks/ec2_single_instance.json", "MIT",
            _json(parse_aws.vantage_ri),
            note="one instance type's scraped record (x2iedn.32xlarge), kept by the "
                 "repository as test data; its pricing block is unchanged up to 8e64e6ea "
                 "(2026-07-20)"),
    ],
    "coroot": [
        Pin("coroot-aws", "aws", "coroot/cloud-pricing",
            "af03eada15b25d80863f2547ba281e71af9d5c91", "data/cloud-pricing.json.gz",
            "Apache-2.0", parse_azure.coroot_aws,
            date_basis="date of the gh-pages deploy commit that wrote the file (the last)",
            note="Infracost's public pricing dump as coroot kept it; EC2 spot and RDS "
                 "PostgreSQL/MySQL only (its EC2 on-demand keys mix product variants)"),
        Pin("coroot-azure", "azure", "coroot/cloud-pricing",
            "af03eada15b25d80863f2547ba281e71af9d5c91", "data/cloud-pricing.json.gz",
            "Apache-2.0", parse_azure.coroot_azure,
            date_basis="date of the gh-pages deploy commit that wrote the file (the last)",
            note="Infracost's public pricing dump as coroot kept it; VM spot only (its "
                 "on-demand keys mix Windows meters in)"),
    ],
    "karpenter-azure": [
        Pin("karpenter-azure", "azure", "Azure/karpenter-provider-azure",
            "2b431da153a6a92b705c18046512c60b1631b682",
            "pkg/providers/pricing/zz_generated.pricing.go", "Apache-2.0",
            _text(parse_azure.karpenter_azure), date_of=_karpenter_aws_date,
            date_basis="the file's 'generated at' header",
            note="Azure Retail Prices API, Linux pay-as-you-go; Windows meters slip in "
                 "(the build's per-series check refuses them)"),
    ],
    "sstybel": [
        Pin("azure-pricing-page-polandcentral", "azure", "sstybel/azure-vm-price-importer",
            "0eaef14b49cffc2639b26a1f53ea606eb02d742f",
            "examples/az_price_data_20260126133104.azpx", "Apache-2.0",
            parse_azure.pricing_page, date_of=parse_azure.pricing_page_date,
            date_basis="the time stamp in the name of the pack's Linux region file",
            note="Azure's VM pricing-page data (azure.microsoft.com/api/v3/pricing/virtual-"
                 "machines/page/linux/poland-central/) as the tool downloaded it; Linux "
                 "pay-as-you-go and 1-/3-year Reserved VM Instance hourly rates of "
                 "polandcentral, a reference-only region (rule R2's Azure ratios)"),
    ],
    "cyclenerd": [
        Pin("cyclenerd-gcp", "gcp", "Cyclenerd/google-cloud-pricing-cost-calculator",
            "fd66b26ff84fee5cdd94f341ea89206e76c06b99", "pricing.yml", "Apache-2.0",
            lambda blob: parse_gcp.cyclenerd(parse_gcp.load_pricing(blob)),
            date_of=_cyclenerd_date, date_basis="the file's about.timestamp",
            note="Cloud Billing Catalog API, weekly build"),
    ],
    "cloudpilot": [
        Pin("cloudpilot-gcp", "gcp", "cloudpilot-ai/karpenter-provider-gcp",
            "373e2baa9665c864d29ae686dfadbc0dd97d8bb8",
            "pkg/providers/pricing/initial-prices.json", "Apache-2.0", parse_gcp.cloudpilot,
            note="Cloud Billing Catalog API, weekly refresh; on-demand and spot"),
    ],
}


def git_show(repo: Path, commit: str, path: str) -> bytes:
    try:
        return subprocess.run(["git", "-C", str(repo), "show", f"{commit}:{path}"],
                              capture_output=True, check=True).stdout
    except subprocess.CalledProcessError as exc:
        raise CatalogError(f"cannot read {commit[:10]}:{path} from {repo}: "
                           f"{exc.stderr.decode(errors='replace').strip()}") from None


def commit_date(repo: Path, commit: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), "show", "-s", "--format=%cs", commit],
                         capture_output=True, text=True, check=True).stdout.strip()
    return out


def record(pin: Pin, repo: Path, out_dir: Path = RECORDED_DIR) -> Path:
    """Read one pinned file, parse it, write its recorded file; returns the path."""
    blob = git_show(repo, pin.commit, pin.path)
    facts = pin.parse(blob)
    if not facts:
        raise CatalogError(f"{pin.name}: the parser found no prices in {pin.path}")
    meta = {"source": pin.name, "provider": pin.provider, "repository": pin.repository,
            "commit": pin.commit, "path": pin.path,
            "date": pin.date_of(blob) if pin.date_of else commit_date(repo, pin.commit),
            "date-basis": pin.date_basis, "licence": pin.licence, "sha256": sha256_hex(blob),
            "note": pin.note}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{pin.name}.csv"
    path.write_text(render(meta, facts), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra_mind.catalog.build.record",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, choices=sorted(SOURCES))
    parser.add_argument("--repo", required=True, type=Path,
                        help="a local clone (or bare mirror) of the source's repository")
    parser.add_argument("--out-dir", type=Path, default=RECORDED_DIR)
    args = parser.parse_args(argv)
    try:
        for pin in SOURCES[args.source]:
            path = record(pin, args.repo, args.out_dir)
            print(f"recorded {pin.repository}@{pin.commit[:10]}:{pin.path} -> {path}")
    except (CatalogError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
