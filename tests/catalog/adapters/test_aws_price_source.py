"""The AWS adapter against a local server speaking the Price List Query API's JSON 1.1."""

from __future__ import annotations

from datetime import date

import pytest
from tests.catalog.adapters.conftest import LOOPBACK_TIMEOUT_S

from infra_mind.catalog.adapters.aws import SOURCE, AwsPriceSource
from infra_mind.catalog.adapters.base import AdapterError, RateLimited
from infra_mind.catalog.model import ProductFamily, PurchaseOption, Unit
from infra_mind.kit.retry import RetryPolicy

THROTTLED = {"__type": "ThrottlingException", "message": "Rate exceeded"}
AMZ = {"Content-Type": "application/x-amz-json-1.1"}


def source(url, session, policy, **kw) -> AwsPriceSource:
    return AwsPriceSource(endpoint_url=url, session=session, policy=policy,
                          timeout_s=LOOPBACK_TIMEOUT_S, today=lambda: date(2000, 1, 1), **kw)


def by_key(rows):
    return {(r.sku, r.region, r.purchase_option): r for r in rows}


def test_collects_every_page_with_the_documented_filters(aws_server, aws_session, policy):
    rows = source(aws_server.url, aws_session, policy).fetch(["us-east-1"])

    assert {r.sku for r in rows} == {"m5.large", "m6g.large", "g5.xlarge", "g5.12xlarge",
                                     "x1e.32xlarge"}  # x1e and g5.12xlarge are on page 2
    assert len(aws_server.requests) == 2
    first, second = (s.json() for s in aws_server.requests)
    assert "NextToken" not in first
    assert second["NextToken"].startswith("pdS4xV1kNzYo5cOb")
    assert first["ServiceCode"] == "AmazonEC2"
    assert {(f["Field"], f["Value"]) for f in first["Filters"]} == {
        ("regionCode", "us-east-1"), ("operatingSystem", "Linux"), ("tenancy", "Shared"),
        ("preInstalledSw", "NA"), ("capacitystatus", "Used")}
    assert all(s.headers["x-amz-target"] == "AWSPriceListService.GetProducts"
               for s in aws_server.requests)


def test_parses_prices_options_and_attributes(aws_server, aws_session, policy):
    rows = by_key(source(aws_server.url, aws_session, policy).fetch(["us-east-1", "eu-west-1"]))

    m5 = rows[("m5.large", "us-east-1", PurchaseOption.ON_DEMAND)]
    assert m5.price_usd == 0.096
    assert m5.unit is Unit.HOUR and m5.product_family is ProductFamily.COMPUTE
    assert m5.service == "AmazonEC2" and m5.source == SOURCE
    assert m5.as_of == date(2026, 11, 20)  # the offer's publicationDate, not the clock
    assert dict(m5.attributes) == {"vcpu": 2, "memory_gib": 8.0, "arch": "x86_64"}
    # Only standard, no-upfront reservations; convertible and partial upfront are ignored.
    assert rows[("m5.large", "us-east-1", PurchaseOption.RESERVED_1Y)].price_usd == 0.06
    assert rows[("m5.large", "us-east-1", PurchaseOption.RESERVED_3Y)].price_usd == 0.041
    assert rows[("m5.large", "eu-west-1", PurchaseOption.ON_DEMAND)].price_usd == 0.107
    assert rows[("m6g.large", "us-east-1", PurchaseOption.ON_DEMAND)].attributes["arch"] == "arm64"
    assert rows[("x1e.32xlarge", "us-east-1", PurchaseOption.ON_DEMAND)].attributes[
        "memory_gib"] == 3904.0

    g5 = rows[("g5.12xlarge", "us-east-1", PurchaseOption.ON_DEMAND)]
    assert g5.price_usd == 5.672
    assert dict(g5.attributes) == {"vcpu": 48, "memory_gib": 192.0, "arch": "x86_64",
                                   "gpu_count": 4, "gpu_model": "NVIDIA A10G",
                                   "gpu_memory_gib": 24.0}  # "96 GB" for four GPUs
    assert rows[("g5.xlarge", "us-east-1", PurchaseOption.ON_DEMAND)].attributes[
        "gpu_memory_gib"] == 24.0
    assert len(rows) == 10


def test_zero_prices_are_dropped_and_counted(aws_server, aws_session, policy):
    src = source(aws_server.url, aws_session, policy)
    rows = src.fetch(["us-east-1"])

    assert not [r for r in rows if r.sku == "c5.large"]
    assert src.skipped["zero price"] == 1


def test_known_specs_take_precedence_for_gpu_facts(aws_server, aws_session, policy):
    known = {"g5.xlarge": {"gpu_model": "A10G", "gpu_memory_gib": 22.0}}
    rows = by_key(source(aws_server.url, aws_session, policy, known_specs=known)
                  .fetch(["us-east-1"]))

    attrs = rows[("g5.xlarge", "us-east-1", PurchaseOption.ON_DEMAND)].attributes
    assert (attrs["gpu_model"], attrs["gpu_memory_gib"]) == ("A10G", 22.0)


def test_instance_family_filter(aws_server, aws_session, policy):
    src = source(aws_server.url, aws_session, policy, instance_families=["m5"])
    rows = src.fetch(["eu-west-1"])

    assert {r.sku for r in rows} == {"m5.large"}
    filters = aws_server.requests[0].json()["Filters"]
    assert {"Type": "CONTAINS", "Field": "instanceType", "Value": "m5."} in filters
    assert src.covers("m5.xlarge") and not src.covers("m5d.large")


def test_throttling_is_retried_as_a_rate_limit(aws_server, aws_session, policy, sleeps):
    aws_server.fail(400, times=2, headers=AMZ, body=THROTTLED)

    rows = source(aws_server.url, aws_session, policy).fetch(["eu-west-1"])

    assert len(rows) == 2
    assert sleeps == [0.5, 1.0]
    assert len(aws_server.requests) == 3  # boto3 retried nothing on its own


def test_throttling_retry_after_header_is_honoured(aws_server, aws_session, policy, sleeps):
    aws_server.fail(400, headers={**AMZ, "Retry-After": "3"}, body=THROTTLED)

    source(aws_server.url, aws_session, policy).fetch(["eu-west-1"])

    assert sleeps == [3.0]


def test_server_errors_then_success(aws_server, aws_session, policy, sleeps):
    aws_server.fail(500, times=2, headers=AMZ,
                    body={"__type": "InternalErrorException", "Message": "internal"})

    rows = source(aws_server.url, aws_session, policy).fetch(["eu-west-1"])

    assert len(rows) == 2
    assert sleeps == [0.5, 1.0]


def test_permanent_throttling_gives_up_as_rate_limited(aws_server, aws_session, policy, sleeps):
    aws_server.fail(400, times=10, headers=AMZ, body=THROTTLED)

    with pytest.raises(RateLimited) as caught:
        source(aws_server.url, aws_session, policy).fetch(["eu-west-1"])

    assert len(aws_server.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert str(caught.value).startswith("aws: rate limited by 127.0.0.1:")
    assert "gave up after 4 attempts" in str(caught.value)


def test_client_errors_fail_at_once(aws_server, aws_session, policy, sleeps):
    aws_server.fail(400, headers=AMZ, body={"__type": "InvalidParameterException",
                                            "Message": "Input parameters are invalid."})

    with pytest.raises(AdapterError, match="InvalidParameterException: Input parameters"):
        source(aws_server.url, aws_session, policy).fetch(["eu-west-1"])

    assert sleeps == [] and len(aws_server.requests) == 1


def test_connection_refused_is_one_line(closed_port_url, aws_session, sleeps):
    policy = RetryPolicy(max_attempts=2, sleep=sleeps.append, jitter=lambda: 0.0)

    with pytest.raises(AdapterError) as caught:
        source(closed_port_url, aws_session, policy).fetch(["us-east-1"])

    message = str(caught.value)
    assert message.startswith(f"aws: network unreachable ({closed_port_url[7:]}): ")
    assert "\n" not in message and "gave up after 2 attempts" in message
    assert len(sleeps) == 1


def test_missing_credentials_say_so(aws_server, policy, monkeypatch, tmp_path):
    import boto3

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)

    with pytest.raises(AdapterError, match=r"^aws: no AWS credentials found"):
        source(aws_server.url, boto3.session.Session(), policy).fetch(["us-east-1"])
    assert aws_server.requests == []
