"""The review says what a far region costs the users it is far from, and what would not.

Users in Japan and Australia are 104 ms apart, so one region is far from one of them; the
recommendation said so in its reasons, but the performance review said "Machines sized to
peak load" and nothing of the 300 ms every new connection costs the far users, nor of the
second region an architect would propose. Real catalog.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from infra_mind.catalog.regions import region
from infra_mind.engine.assess import assess
from infra_mind.engine.latency import rtt_ms
from tests.engine.test_properties import catalog

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

API = {"name": "api", "type": "web_service", "peak_rps": 120, "cpu_ms_per_request": 30,
       "egress_gb_per_month": 300}
SITE = {"name": "site", "type": "static_site", "egress_gb_per_month": 100}


def business(*workloads, **top) -> dict:
    return {"name": "sakura learn", "availability_target": 99.9, **top,
            "preferences": {"allow_arm": False},
            "workloads": [API, *workloads, {"name": "db", "type": "database",
                                            "storage_gb": 100}]}


def performance(result) -> tuple[list[str], str]:
    (pillar,) = [p for p in result.review if p.pillar == "performance_efficiency"]
    return pillar.findings, pillar.risk


def test_far_users_are_told_the_cost_and_the_region_that_would_serve_them():
    result = assess(business(SITE, users=["JP", "AU"]), catalog())
    first = region(result.options[0].provider, result.options[0].region)
    far, near = (("Australia", "AU"), ("ap-southeast-2", "australiaeast",
                                      "australia-southeast1")) \
        if first.city == "Tokyo" else (("Japan", "JP"), ("ap-northeast-1", "japaneast",
                                                          "asia-northeast1"))
    ms = rtt_ms(first, (far[1],))
    assert ms == 104
    second = next(c for c in near if region(first.provider, c))  # the provider's own
    findings, risk = performance(result)
    assert risk == "medium"
    assert (f"Users in {far[0]} (~104 ms) are over 60 ms round trip from {first.code} "
            f"({first.city}): a new HTTPS connection costs them three round trips (~312 ms) "
            "before its first byte. A second region serving them at the same time, with the "
            f"data replicated to it, would bring them within 60 ms: {second} "
            f"({region(first.provider, second).city}) for {far[0]}. The CDN already serves "
            "static content to them from its edge.") in findings


def test_where_residency_keeps_them_far_the_review_says_so_and_proposes_nothing():
    result = assess(business(users=["JP", "AU"], data_residency=["JP"]), catalog())
    findings, _ = performance(result)
    (finding,) = [f for f in findings if f.startswith("Users in")]
    assert finding.startswith("Users in Australia (~104 ms) are over 60 ms round trip from ")
    assert finding.endswith("For Australia, data residency or the region preferences allow "
                            "no region within 60 ms.")  # no CDN in this design
    assert "second region" not in finding


def test_users_near_the_region_get_no_finding():
    saas = yaml.safe_load((EXAMPLES / "saas-startup.yaml").read_text(encoding="utf-8"))
    findings, _ = performance(assess(saas, catalog()))
    assert not any(f.startswith("Users in") for f in findings)
    findings, _ = performance(assess(business(users=["JP"]), catalog()))
    assert not any(f.startswith("Users in") for f in findings)


def test_with_shares_the_far_users_are_counted_and_their_second_regions_grouped():
    """A language app: 40% of its users in the US, 35% in the EU, 15% in Japan and 10% in
    Korea. The finding gives each far place's share and what they come to; one Tokyo
    region serves Japan and Korea, said once; for the EU it proposes the EU region
    nearest the design (every EU region is 0 ms from users in the EU, and Finland had won
    by its code). The nearer region it named, AWS Oregon, serves every place within ~130
    ms but the average user slower than the design does: not named."""
    shares = {"us": 40, "eu": 35, "JP": 15, "KR": 10}
    result = assess(business(users=["us", "eu", "JP", "KR"], user_shares=shares), catalog())
    first = region(result.options[0].provider, result.options[0].region)
    assert (first.provider.value, first.code) == ("gcp", "us-east1")
    findings, _ = performance(result)
    (finding,) = [f for f in findings if f.startswith("Users in")]
    assert finding.startswith(
        "Users in the EU (~77 ms, 35%), Japan (~163 ms, 15%) and South Korea (~177 ms, 10%), "
        "60% of the users, are over 60 ms round trip from us-east1 (South Carolina): ")
    assert ("would bring them within 60 ms: europe-west1 (Belgium) for the EU; "
            "asia-northeast1 (Tokyo) for Japan and South Korea.") in finding
    assert "Of the regions designed" not in finding
