"""Where an option's cost differs from the recommended one's, part by part.

A CTO told "AWS costs $1,268.65 more a month" (a Brazilian food-delivery marketplace,
2026-12-07) asked where: the engine said the totals alone. Each alternative now carries
its differences by part (a workload with all its lines; shared lines by what they do,
whatever each provider calls them), and the largest three in words.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from infra_mind.engine import difference
from infra_mind.engine.assess import assess
from infra_mind.engine.result import AssessmentResult, LineItem, Option

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))


@pytest.fixture(scope="module")
def results() -> dict[str, AssessmentResult]:
    return {name: assess(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()))
            for name in NAMES}


def option(r: AssessmentResult, provider: str, region: str) -> Option:
    return next(o for o in r.options if (o.provider, o.region) == (provider, region))


def by_part(items: list[LineItem], gateway: bool) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    for item in items:
        sums[difference.part_of(item, gateway)] += item.monthly_usd
    return sums


@pytest.mark.parametrize("name", NAMES)
def test_each_difference_is_its_parts_lines_on_each_side_largest_first(results, name):
    r = results[name]
    rec = r.recommended
    chosen = option(r, rec.provider, rec.region)
    for alt in rec.alternatives:
        other = option(r, alt.provider, alt.region)
        gateway = any(i.component.startswith("WAF gateway")
                      for i in (*other.line_items, *chosen.line_items))
        mine = by_part(other.line_items, gateway)
        theirs = by_part(chosen.line_items, gateway)
        diffs = alt.differences
        assert diffs, f"{alt.provider}: no differences"
        assert len(diffs) <= difference.KEPT
        for d in diffs:
            assert d.monthly_usd == pytest.approx(mine.get(d.part, 0.0), abs=0.006)
            assert d.recommended_usd == pytest.approx(theirs.get(d.part, 0.0), abs=0.006)
            assert d.delta_usd == pytest.approx(d.monthly_usd - d.recommended_usd, abs=0.011)
        sizes = [abs(d.delta_usd) for d in diffs]
        assert sizes == sorted(sizes, reverse=True)
        # every part that differs is kept up to KEPT; together they are the whole difference
        differing = [p for p in mine.keys() | theirs.keys()
                     if round(mine.get(p, 0.0) - theirs.get(p, 0.0), 2)]
        if len(differing) <= difference.KEPT:
            assert {d.part for d in diffs} == set(differing)
            assert sum(d.delta_usd for d in diffs) == pytest.approx(alt.delta_usd,
                                                                     abs=0.011 * len(diffs))
        # the words: the largest three, no signs in front of amounts
        assert alt.differences_text == difference.in_words(diffs)
        assert alt.differences_text.count(";") == min(len(diffs), difference.IN_WORDS) - 1
        assert "-$" not in alt.differences_text and "+$" not in alt.differences_text


def test_shared_lines_are_compared_by_what_they_do_not_by_name(results):
    """AWS's "NAT gateways" and Google's "Cloud NAT (per VM)" are one part, the NAT."""
    r = results["saas-startup"]
    assert r.recommended.provider == "gcp"
    aws = next(a for a in r.recommended.alternatives if a.provider == "aws")
    (nat,) = [d for d in aws.differences if d.part == "NAT"]
    gcp_nat = [i for i in option(r, "gcp", r.recommended.region).line_items
               if i.component.startswith("Cloud NAT")]
    aws_nat = [i for i in option(r, "aws", aws.region).line_items
               if i.component == "NAT gateways"]
    assert gcp_nat and aws_nat
    assert nat.recommended_usd == pytest.approx(sum(i.monthly_usd for i in gcp_nat), abs=0.01)
    assert nat.monthly_usd == pytest.approx(sum(i.monthly_usd for i in aws_nat), abs=0.01)
    assert nat.shared and nat.detail == ""


def test_a_workloads_machines_are_named_where_they_differ(results):
    r = results["saas-startup"]
    azure = next(a for a in r.recommended.alternatives if a.provider == "azure")
    (cache,) = [d for d in azure.differences if d.part == "session-redis-cache"]
    assert not cache.shared
    assert cache.detail == f"{cache.sku} against {cache.recommended_sku}"
    assert f"session-redis-cache ${abs(cache.delta_usd):,.2f} more ({cache.detail})" in \
        azure.differences_text


def test_a_self_managed_side_says_so(results):
    """Azure had no managed cache size for the portal's cache: its Redis nodes are
    self-managed machines, which a bare SKU would not tell."""
    r = results["azure-enterprise"]
    assert r.recommended.provider == "azure"
    aws = next(a for a in r.recommended.alternatives if a.provider == "aws")
    (cache,) = [d for d in aws.differences if d.part == "portal-cache"]
    assert cache.detail == f"{cache.sku} against self-managed on {cache.recommended_sku}"


def test_an_unpriced_part_is_said_unpriced_not_cheaper(results):
    """Google has no priced T4 machine for the transcoder: its option is "less" there only
    because the part is left out of its total."""
    r = results["video-transcoding"]
    gcp = next(a for a in r.recommended.alternatives if a.provider == "gcp")
    (transcoder,) = [d for d in gcp.differences if d.part == "transcoder"]
    assert transcoder.monthly_usd == 0 and transcoder.delta_usd < 0
    assert transcoder.detail == "unpriced on this option"
    assert "transcoder" in difference.unpriced_parts(option(r, "gcp", gcp.region).unpriced)


def test_unpriced_shared_components_map_to_their_parts():
    assert difference.unpriced_parts([
        "(shared): NAT gateway in aws us-east-1",
        "(shared): Cloud NAT per-VM charge (10.0 VM-hours) in gcp us-east1",
        "(shared): CDN for site (10 GB a month) in aws us-east-1",
        "(shared): managed Kubernetes control plane in azure eastus",
        "(shared): internet egress (5 GB) in gcp us-east1",
        "api: app servers (2 vCPU) in aws us-east-1",
    ]) == {"NAT", "CDN", "Kubernetes control plane", "internet egress", "api"}


def test_a_waf_that_is_the_load_balancer_is_compared_with_both(results):
    """Azure's Application Gateway is its load balancer and its WAF: against AWS's ALB and
    WAF it had read as "load balancer $20.52 less (none on this option)"."""
    r = results["eu-fintech"]
    azure = next(a for a in r.recommended.alternatives if a.provider == "azure")
    parts = {d.part: d for d in azure.differences}
    assert difference.GATEWAY in parts and not {"load balancer", "WAF"} & parts.keys()
    aws = option(r, r.recommended.provider, r.recommended.region)
    assert parts[difference.GATEWAY].recommended_usd == pytest.approx(sum(
        i.monthly_usd for i in aws.line_items if i.workload == "(shared)"
        and (i.component.startswith("load balancer") or i.component.startswith("WAF"))),
        abs=0.01)
    # without a gateway on either side, the two stay apart
    gcp = next(a for a in r.recommended.alternatives if a.provider == "gcp")
    assert "WAF" in {d.part for d in gcp.differences}
