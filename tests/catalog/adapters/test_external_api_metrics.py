"""The price adapters' calls as Prometheus series (issue #16, item 3): one count per HTTP
attempt by target and outcome (a 429 or AWS throttling is ``rate_limited``), and each
attempt's duration, against the local replay servers.

The series are process-wide (the adapters have no ``Platform``); each test reads them
through a fresh ``Metrics()`` registry, as ``/metrics`` does, and compares before and after.
"""

from __future__ import annotations

import time
from datetime import date

import pytest
from tests.catalog.adapters.conftest import LOOPBACK_TIMEOUT_S, Reply, Seen, azure_app

from infra_mind.catalog.adapters.aws import AwsPriceSource
from infra_mind.catalog.adapters.azure import AzurePriceSource
from infra_mind.catalog.adapters.base import AdapterError
from infra_mind.catalog.adapters.gcp import GcpPriceSource
from infra_mind.observability.metrics import Metrics

THROTTLED = {"__type": "ThrottlingException", "message": "Rate exceeded"}
AMZ = {"Content-Type": "application/x-amz-json-1.1"}
AZURE_SIZES = {"Standard_D2s_v5": {"vcpu": 2, "memory_gib": 8.0, "arch": "x86_64"}}


class Series:
    """The outside-API series of one target, read through a new registry."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.registry = Metrics().registry

    def count(self, outcome: str) -> float:
        labels = {"target": self.target, "outcome": outcome}
        return self.registry.get_sample_value("external_api_requests_total", labels) or 0.0

    def bucket(self, outcome: str, le: str) -> float:
        labels = {"target": self.target, "outcome": outcome, "le": le}
        name = "external_api_request_duration_seconds_bucket"
        return self.registry.get_sample_value(name, labels) or 0.0

    def snapshot(self) -> dict[str, float]:
        return {
            "ok": self.count("ok"),
            "rate_limited": self.count("rate_limited"),
            "error": self.count("error"),
            "ok_le_0.1": self.bucket("ok", "0.1"),
            "ok_all": self.bucket("ok", "+Inf"),
        }


def grown(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in before}


def test_azure_429_then_pages_are_counted_with_their_durations(serve, policy, sleeps):
    slow_ms = 120

    def slow_azure(seen: Seen) -> Reply:
        time.sleep(slow_ms / 1000)  # above the guide's 100 ms line, on purpose
        return azure_app(seen)

    server = serve(slow_azure)
    server.fail(429, headers={"Retry-After": "1"}, body={"Error": {"Code": "TooMany"}})
    series = Series("azure-pricing")
    before = series.snapshot()

    AzurePriceSource(
        AZURE_SIZES, base_url=f"{server.url}/api/retail/prices", policy=policy,
        timeout_s=LOOPBACK_TIMEOUT_S,
    ).fetch(["eastus"])

    pages = len(server.requests) - 1  # the first answer was the 429
    assert grown(before, series.snapshot()) == {
        "ok": pages,
        "rate_limited": 1,
        "error": 0,
        "ok_le_0.1": 0,
        "ok_all": pages,
    }
    assert sleeps == [1.0]


def test_aws_throttling_counts_as_rate_limited(aws_server, aws_session, policy, sleeps):
    aws_server.fail(400, times=2, headers=AMZ, body=THROTTLED)
    series = Series("aws-pricing")
    before = series.snapshot()

    AwsPriceSource(
        endpoint_url=aws_server.url,
        session=aws_session,
        policy=policy,
        timeout_s=LOOPBACK_TIMEOUT_S,
        today=lambda: date(2000, 1, 1),
    ).fetch(["eu-west-1"])

    change = grown(before, series.snapshot())
    assert (change["rate_limited"], change["ok"], change["error"]) == (2, 1, 0)


def test_gcp_429_and_a_refusal(gcp_server, policy, sleeps, gcp_key):
    gcp_server.fail(429, headers={"Retry-After": "2"})
    series = Series("gcp-pricing")
    before = series.snapshot()

    GcpPriceSource(api_key=gcp_key, base_url=gcp_server.url, policy=policy,
                   timeout_s=LOOPBACK_TIMEOUT_S).fetch(["europe-west1"])
    with pytest.raises(AdapterError):  # a 400 for a wrong key: one attempt, an error
        GcpPriceSource(
            api_key="AIzaWRONG-key-0000000000000",
            base_url=gcp_server.url,
            policy=policy,
            timeout_s=LOOPBACK_TIMEOUT_S,
        ).fetch(["europe-west1"])

    change = grown(before, series.snapshot())
    assert (change["rate_limited"], change["error"]) == (1, 1)
    assert change["ok"] == len(gcp_server.requests) - 2
