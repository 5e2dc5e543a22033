"""refresh_snapshot: merge fetched compute prices into a catalog, all or nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from tests.catalog.adapters.conftest import LOOPBACK_TIMEOUT_S

from infra_mind.catalog.adapters.aws import AwsPriceSource
from infra_mind.catalog.adapters.azure import AzurePriceSource
from infra_mind.catalog.adapters.gcp import GcpPriceSource
from infra_mind.catalog.model import PriceRow, ProductFamily, Provider, PurchaseOption, Unit
from infra_mind.catalog.refresh import RefreshError, default_source, refresh_snapshot
from infra_mind.catalog.regions import regions_of
from infra_mind.catalog.snapshot import read_snapshot, write_snapshot
from infra_mind.catalog.store import Catalog
from infra_mind.config import CatalogSettings

OLD = date(2025, 3, 2)
TODAY = date(2026, 11, 28)
SPEC = {"vcpu": 2, "memory_gib": 8.0, "arch": "x86_64"}


def row(provider, sku, region, price, option=PurchaseOption.ON_DEMAND,
        family=ProductFamily.COMPUTE, unit=Unit.HOUR, attributes=SPEC, service="svc"):
    return PriceRow(provider=Provider(provider), service=service, product_family=family, sku=sku,
                    region=region, unit=unit, price_usd=price, purchase_option=option,
                    as_of=OLD, source="libcloud/data/pricing.json (test base)",
                    attributes=attributes)


@pytest.fixture
def base_rows() -> list[PriceRow]:
    return [
        row("aws", "m5.large", "us-east-1", 0.09),                    # repriced
        row("aws", "m4.large", "us-east-1", 0.10),                    # retired: gone
        row("aws", "m5.large", "us-east-1", 0.03, PurchaseOption.SPOT),  # option not fetched
        row("aws", "m5.large", "us-west-2", 0.096),                   # region not fetched
        row("aws", "gp3", "us-east-1", 0.08, family=ProductFamily.BLOCK_STORAGE,
            unit=Unit.GB_MONTH, attributes={}),                       # not compute
        row("azure", "Standard_D2s_v5", "eastus", 0.1),
        row("azure", "Standard_D4s_v5", "eastus", 0.2, attributes={**SPEC, "vcpu": 4,
                                                                    "memory_gib": 16.0}),
        row("azure", "Standard_NC4as_T4_v3", "eastus", 0.5, attributes={
            "vcpu": 4, "memory_gib": 28.0, "arch": "x86_64", "gpu_count": 1,
            "gpu_model": "NVIDIA T4", "gpu_memory_gib": 16.0}),
        row("gcp", "n2-standard-2", "us-central1", 0.09),
        row("gcp", "a2-highgpu-1g", "us-central1", 3.67, attributes={
            "vcpu": 12, "memory_gib": 85.0, "arch": "x86_64", "gpu_count": 1,
            "gpu_model": "NVIDIA A100", "gpu_memory_gib": 40.0}),     # outside GCP's scope
    ]


@pytest.fixture
def base(base_rows, tmp_path) -> Catalog:
    path = tmp_path / "snapshot.json"
    write_snapshot(path, base_rows, OLD, ["built from test rows"])
    return Catalog.load(path)


def aws(server, session, policy) -> AwsPriceSource:
    return AwsPriceSource(endpoint_url=server.url, session=session, policy=policy,
                          timeout_s=LOOPBACK_TIMEOUT_S)


def prices(catalog: Catalog) -> dict[tuple, float]:
    return {(r.provider.value, r.sku, r.region, r.purchase_option.value, r.product_family.value):
            r.price_usd for r in catalog}


def test_replaces_only_the_fetched_keys(base, base_rows, tmp_path, aws_server, aws_session,
                                        policy):
    out = tmp_path / "refreshed.json"
    report = refresh_snapshot(Provider.AWS, ["us-east-1"], base, out,
                              source=aws(aws_server, aws_session, policy), today=TODAY)

    after = Catalog.load(out)
    got = prices(after)
    assert got[("aws", "m5.large", "us-east-1", "on_demand", "compute")] == 0.096
    assert got[("aws", "m5.large", "us-east-1", "reserved_1y", "compute")] == 0.06
    assert ("aws", "m4.large", "us-east-1", "on_demand", "compute") not in got
    for kept in (base_rows[2], base_rows[3], base_rows[4], *base_rows[5:]):
        key = (kept.provider.value, kept.sku, kept.region, kept.purchase_option.value,
               kept.product_family.value)
        assert got[key] == kept.price_usd, key
    assert len(after) == len(base_rows) - 2 + report.rows_fetched
    assert report.provider is Provider.AWS and report.regions == ["us-east-1"]
    assert (report.rows_fetched, report.rows_replaced, report.rows_added,
            report.rows_removed) == (8, 1, 7, 1)
    assert report.skipped == {"zero price": 1} and report.skipped_count == 1
    assert report.out_path == out
    snap = read_snapshot(out)
    assert snap.generated_at == TODAY
    assert snap.notes[0] == "built from test rows"
    assert snap.notes[-1].startswith("refresh aws: 8 compute prices for 1 regions")


def test_refreshed_rows_keep_their_own_source_and_date(base, tmp_path, aws_server, aws_session,
                                                       policy):
    out = tmp_path / "refreshed.json"
    refresh_snapshot("aws", ["us-east-1"], base, out,
                     source=aws(aws_server, aws_session, policy), today=TODAY)

    fresh = Catalog.load(out).price("aws", "m5.large", "us-east-1")[0]
    assert fresh.source.startswith("https://api.pricing.us-east-1.amazonaws.com")
    assert fresh.as_of == date(2026, 11, 20)
    old = Catalog.load(out).price("aws", "m5.large", "us-west-2")[0]
    assert old.as_of == OLD


def test_failure_leaves_the_old_file_byte_identical(base, tmp_path, aws_server, aws_session,
                                                    policy):
    out = Path(base.path)
    before = out.read_bytes()
    listing = sorted(tmp_path.iterdir())
    aws_server.fail(500, times=100)

    with pytest.raises(RefreshError) as caught:
        refresh_snapshot("aws", ["us-east-1"], base, out,
                         source=aws(aws_server, aws_session, policy), today=TODAY)

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("aws: ") and "answered HTTP 500" in message
    assert f"nothing written to {out}; the catalog in use" in message
    assert out.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == listing  # no temporary file left behind


def test_a_failure_on_a_later_page_writes_nothing(base, tmp_path, aws_server, aws_session,
                                                  policy):
    out = tmp_path / "never.json"
    real = aws_server.app
    calls = []

    def first_page_only(seen):
        calls.append(seen)
        if len(calls) == 1:
            return real(seen)
        return 400, {"Content-Type": "application/x-amz-json-1.1"}, (
            b'{"__type": "InvalidNextTokenException", "Message": "The next token is invalid"}')

    aws_server.app = first_page_only
    with pytest.raises(RefreshError, match="InvalidNextTokenException"):
        refresh_snapshot("aws", ["us-east-1"], base, out,
                         source=aws(aws_server, aws_session, policy), today=TODAY)
    assert not out.exists()


def test_an_empty_answer_is_a_failure(base, tmp_path, aws_server, aws_session, policy):
    out = Path(base.path)
    before = out.read_bytes()

    with pytest.raises(RefreshError, match="returned no usable compute prices for ap-south-1"):
        refresh_snapshot("aws", ["ap-south-1"], base, out,
                         source=aws(aws_server, aws_session, policy), today=TODAY)
    assert out.read_bytes() == before


def test_regions_default_to_every_covered_region(base, tmp_path, aws_server, aws_session,
                                                 policy):
    report = refresh_snapshot("aws", None, base, tmp_path / "all.json",
                              source=aws(aws_server, aws_session, policy), today=TODAY)

    asked = [next(f["Value"] for f in s.json()["Filters"] if f["Field"] == "regionCode")
             for s in aws_server.requests if "NextToken" not in s.json()]
    codes = [r.code for r in regions_of("aws")]
    assert asked == codes and report.regions == codes
    assert report.rows_fetched == 8 + 2  # us-east-1 and eu-west-1 have recorded answers


def test_a_source_for_another_provider_is_refused(base, tmp_path, aws_server, aws_session,
                                                  policy):
    with pytest.raises(RefreshError, match="price source is for aws"):
        refresh_snapshot("gcp", ["us-central1"], base, tmp_path / "x.json",
                         source=aws(aws_server, aws_session, policy))
    assert aws_server.requests == []


def test_gcp_refresh_keeps_machines_outside_its_scope(base, tmp_path, gcp_server, gcp_key,
                                                      policy):
    source = GcpPriceSource(api_key=gcp_key, base_url=gcp_server.url, policy=policy)
    out = tmp_path / "gcp.json"
    refresh_snapshot("gcp", ["us-central1"], base, out, source=source, today=TODAY)

    got = prices(Catalog.load(out))
    assert got[("gcp", "a2-highgpu-1g", "us-central1", "on_demand", "compute")] == 3.67
    assert got[("gcp", "n2-standard-2", "us-central1", "on_demand", "compute")] == 0.097118


def test_default_azure_source_reads_the_url_and_sizes(base, tmp_path, azure_server,
                                                      monkeypatch):
    monkeypatch.setenv("AZURE_PRICES_URL", f"{azure_server.url}/api/retail/prices")
    source = default_source("azure", base)
    assert isinstance(source, AzurePriceSource)

    out = tmp_path / "azure.json"
    report = refresh_snapshot("azure", ["eastus"], base, out, source=source, today=TODAY)

    got = prices(Catalog.load(out))
    assert got[("azure", "Standard_D2s_v5", "eastus", "on_demand", "compute")] == 0.096
    assert got[("azure", "Standard_D2s_v5", "eastus", "reserved_1y", "compute")] == 0.057534
    assert report.rows_fetched == 7 and report.rows_replaced == 3
    assert report.skipped["size with unknown vCPU/memory"] == 1  # E2s v5: not in the base


def test_default_sources_read_their_environment(base):
    env = {"AWS_PRICING_ENDPOINT_URL": "http://127.0.0.1:9/aws",
           "GCP_BILLING_URL": "http://127.0.0.1:9", "GCP_API_KEY": "k-123456"}
    aws_source = default_source("aws", base, CatalogSettings.from_env(env))
    gcp_source = default_source("gcp", base, CatalogSettings.from_env(env))
    azure_source = default_source("azure", None, CatalogSettings.from_env({}))

    assert isinstance(aws_source, AwsPriceSource)
    assert aws_source.endpoint_url == "http://127.0.0.1:9/aws"
    assert set(aws_source.known_specs) == {"m5.large", "m4.large"}  # the base's AWS compute
    assert isinstance(gcp_source, GcpPriceSource)
    assert (gcp_source.base_url, gcp_source.api_key) == ("http://127.0.0.1:9", "k-123456")
    assert isinstance(azure_source, AzurePriceSource)
    assert azure_source.base_url == "https://prices.azure.com/api/retail/prices"
    assert azure_source.sizes == {}


def test_default_sources_follow_integrations_yaml(base, tmp_path):
    """$CONFIG_DIR/integrations.yaml sets endpoint, timeout and attempts; the environment's
    endpoint variables win; a disabled API is refused in one line."""
    import shutil

    import yaml

    from infra_mind.catalog.refresh import RefreshError

    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[3] / "config", config)
    data = yaml.safe_load((config / "integrations.yaml").read_text())
    data["price_apis"]["azure"].update(base_url="http://127.0.0.1:9/azure", timeout_s=7.5,
                                       retry_attempts=2)
    data["price_apis"]["gcp"]["enabled"] = False
    (config / "integrations.yaml").write_text(yaml.safe_dump(data))
    env = {"CONFIG_DIR": str(config)}

    azure = default_source("azure", None, CatalogSettings.from_env(env))
    assert (azure.base_url, azure.timeout_s, azure.policy.max_attempts) == \
        ("http://127.0.0.1:9/azure", 7.5, 2)
    assert default_source("azure", None, CatalogSettings.from_env(
        {**env, "AZURE_PRICES_URL": "http://x:1"})).base_url == "http://x:1"
    with pytest.raises(RefreshError, match=r"^the gcp price API is disabled"):
        default_source("gcp", base, CatalogSettings.from_env(env))
