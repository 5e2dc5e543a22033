"""``catalog refresh`` reports per region the rows added, changed and removed, and refuses
(exit 2, nothing written) a refresh that would take more than 20% of a region's rows away
(issue #11). The recorded Azure answers, replayed on loopback, once cut the bundled
snapshot's eastus from 353 rows to 51 without a word."""

from __future__ import annotations

from datetime import date

import pytest
from tests.factories import make_row

from infra_mind.catalog.adapters.azure import AzurePriceSource
from infra_mind.catalog.model import Provider
from infra_mind.catalog.refresh import ShrinkRefused, diff_regions, refresh_snapshot
from infra_mind.catalog.snapshot import BUNDLED_PATH
from infra_mind.catalog.store import Catalog
from infra_mind.cli.main import main

TODAY = date(2026, 11, 28)


@pytest.fixture
def azure_url(azure_server, monkeypatch) -> str:
    url = f"{azure_server.url}/api/retail/prices"
    monkeypatch.setenv("AZURE_PRICES_URL", url)
    return url


def eastus_rows(catalog: Catalog) -> int:
    return sum(1 for r in catalog if r.provider is Provider.AZURE and r.region == "eastus")


def test_the_azure_replay_that_empties_eastus_is_refused(bundled, azure_url, tmp_path, policy):
    out = tmp_path / "refreshed.json"
    source = AzurePriceSource({r.sku: dict(r.attributes) for r in bundled.rows(
        provider="azure", family="compute")}, base_url=azure_url, policy=policy)
    with pytest.raises(ShrinkRefused) as caught:
        refresh_snapshot("azure", ["eastus", "westus2"], bundled, out, source=source,
                         today=TODAY)
    before = eastus_rows(bundled)
    (lost,) = caught.value.shrinking
    assert (lost.region, lost.before) == ("eastus", before)
    assert lost.after < 0.8 * before and lost.removed > 0
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"azure: refused: eastus would lose {lost.lost_pct:.1f}% of its "
                              f"rows ({before} -> {lost.after}), more than the 20% allowed; "
                              f"nothing written to {out}")
    assert not out.exists()
    westus2 = next(d for d in caught.value.diff if d.region == "westus2")
    assert westus2.unchanged and westus2.before == westus2.after > 0


def test_allow_shrink_writes_it_and_the_diff_matches_the_files(bundled, azure_url, tmp_path,
                                                                policy):
    out = tmp_path / "refreshed.json"
    source = AzurePriceSource({r.sku: dict(r.attributes) for r in bundled.rows(
        provider="azure", family="compute")}, base_url=azure_url, policy=policy)
    report = refresh_snapshot("azure", ["eastus"], bundled, out, source=source, today=TODAY,
                              allow_shrink=True)
    after = Catalog.load(out)
    (d,) = report.diff
    assert (d.before, d.after) == (eastus_rows(bundled), eastus_rows(after))
    assert d.after == d.before + d.added - d.removed
    assert d.added == report.rows_added and d.removed == report.rows_removed
    assert d.changed <= report.rows_replaced
    assert d.lost_pct > 20


def test_cli_refuses_with_exit_2_one_line_and_the_diff(capsys, azure_url, tmp_path, bundled):
    out = tmp_path / "snapshot.json"
    code = main(["catalog", "refresh", "--provider", "azure", "--region", "eastus",
                 "--region", "westus2", "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == 2
    assert not out.exists() and not (tmp_path / "data").exists()
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert "eastus would lose " in stderr and "% of its rows" in stderr
    assert stderr.strip().endswith("pass --allow-shrink to write it anyway")
    lines = stdout.splitlines()
    assert lines[0].startswith(f"azure eastus: {eastus_rows(bundled)} -> ")
    assert "added" in lines[0] and "changed" in lines[0] and "removed" in lines[0]
    assert lines[0].endswith("(loses more than 20%)")
    assert lines[1] == "azure: unchanged in 1 region(s): westus2"


def test_cli_allow_shrink_writes_and_reports_per_region(capsys, azure_url, tmp_path):
    out = tmp_path / "snapshot.json"
    code = main(["catalog", "refresh", "--provider", "azure", "--region", "eastus", "--out",
                 str(out), "--allow-shrink"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert out.exists() and eastus_rows(Catalog.load(out)) < eastus_rows(
        Catalog.load(BUNDLED_PATH))
    assert stdout.splitlines()[0].startswith("azure eastus: ")
    assert stdout.splitlines()[-1].startswith("refreshed azure: 8 rows fetched, ")
    assert f"wrote {out}" in stdout


def test_diff_counts_added_changed_removed_by_key():
    before = [make_row(sku="m5.large"), make_row(sku="m4.large"),
              make_row(sku="m5.large", region="us-west-2")]
    after = [make_row(sku="m5.large", price_usd=0.1), make_row(sku="c5.large"),
             make_row(sku="m5.large", region="us-west-2")]
    east, west, none = diff_regions(Provider.AWS, before, after,
                                    ["us-east-1", "us-west-2", "eu-west-1"])
    assert (east.before, east.after, east.added, east.changed, east.removed) == (2, 2, 1, 1, 1)
    assert east.lost_pct == 0 and not east.unchanged
    assert west.unchanged and none.unchanged and none.before == 0
    assert east.line() == ("aws us-east-1: 2 -> 2 rows (+0.0%): 1 added, 1 changed, "
                           "1 removed")
