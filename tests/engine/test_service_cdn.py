"""A web service whose responses are files is told what the CDN in front of it would cost.

A made-up live-sports API sent 900,000 GB a month from its machines, about 430 kB a
response, as internet egress and load balancer data: $53,773.08 a month on Azure, where
behind Azure CDN the same option costs $34,151.80. The review said nothing (the CDN
suggestion looked at buckets only). APIs answering a few kB are left alone. Real catalog.
"""

from __future__ import annotations

from infra_mind.engine.assess import FILE_RESPONSE_KB, assess

STREAM = {"name": "stream-edge", "type": "web_service", "peak_rps": 3000, "avg_rps": 800,
          "cpu_ms_per_request": 4, "memory_gb": 4, "peak_hours_per_day": 4,
          "egress_gb_per_month": 900000}
DB = {"name": "catalog-db", "type": "database", "storage_gb": 100}


def cost_findings(**service):
    result = assess({"name": "live", "users": ["us"], "availability_target": 99.95,
                     "preferences": {"providers": ["azure"], "regions": ["eastus"]},
                     "workloads": [{**STREAM, **service}, DB]})
    (cost,) = [p for p in result.review if p.pillar == "cost_optimization"]
    return result, [f for f in cost.findings if "not API replies" in f]


def test_file_sized_responses_are_priced_behind_the_cdn():
    result, (finding,) = cost_findings()
    total = result.options[0].monthly_cost_usd
    assert finding.startswith("stream-edge sends 900,000 GB a month from its machines, "
                              "responses averaging about 428 kB: files or media, not API "
                              "replies. If they can be cached, behind Azure CDN with the "
                              "service as its origin this option would cost $")
    assert f"a month instead of ${total:,.2f}" in finding


def test_api_sized_responses_are_left_alone():
    # 2,000 GB a month at 800 requests/s: under 1 kB a response
    _, found = cost_findings(egress_gb_per_month=2000)
    assert found == []
    assert FILE_RESPONSE_KB == 100.0
