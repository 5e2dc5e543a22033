"""The review prices a CDN in front of buckets the design serves to the internet itself.

Found on a made-up grocery-delivery app in São Paulo (2026-12-06): 6,000 GB a month of
product images read by shoppers were sent straight from Cloud Storage as internet egress,
$1,000 a month of it, while the same option with the images behind Cloud CDN cost $387.59
less. The requirement had not marked the bucket ``public``; an architect would still say
so. The finding is priced by designing the option again with those buckets behind the
CDN, and made only where that saves a material amount (``CDN_SUGGESTION_MIN_USD`` and
``CDN_SUGGESTION_MIN_SHARE``) on frequently read buckets. Real catalog.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from infra_mind.engine.assess import assess
from infra_mind.engine.facts import CdnAlternative
from infra_mind.engine.money import usd
from infra_mind.engine.network import CDN_NAMES
from infra_mind.engine.review import _cdn_finding

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GROCERY = {
    "name": "Grocery delivery (Brazil)",
    "business": {"industry": "retail", "company_size": "small", "monthly_budget_usd": 4000},
    "compliance": ["pci_dss"],
    "users": ["sa"],
    "availability_target": 99.9,
    "preferences": {"managed_services": True},
    "workloads": [
        {"name": "storefront", "type": "static_site", "storage_gb": 20,
         "egress_gb_per_month": 3000},
        {"name": "orders-api", "type": "web_service", "peak_rps": 400, "avg_rps": 60,
         "cpu_ms_per_request": 15, "memory_gb": 1, "peak_hours_per_day": 4,
         "egress_gb_per_month": 500},
        {"name": "orders-db", "type": "database", "engine": "postgres", "storage_gb": 200},
        {"name": "product-images", "type": "object_storage", "storage_gb": 800,
         "access": "frequent", "egress_gb_per_month": 6000},
    ],
}


def _changed(req: dict, images: dict | None = None, **top: object) -> dict:
    out = copy.deepcopy(req)
    out.update(top)
    if images is not None:
        out["workloads"][-1].update(images)
    return out


def _cdn_findings(result) -> list[str]:
    (cost,) = [p for p in result.review if p.pillar == "cost_optimization"]
    return [f for f in cost.findings if "to the internet itself" in f]


def test_a_bucket_served_to_the_internet_gets_the_cdn_priced_when_it_saves_money():
    result = assess(GROCERY)
    chosen = result.options[0]
    # the same region, the images marked public: the design the finding describes
    behind = assess(_changed(GROCERY, {"public": True},
                             preferences={"managed_services": True,
                                          "regions": [chosen.region]})).options[0]
    assert (behind.provider, behind.region) == (chosen.provider, chosen.region)
    saving = round(chosen.monthly_cost_usd - behind.monthly_cost_usd, 2)
    assert saving >= 0.02 * chosen.monthly_cost_usd  # material: 13% here
    (finding,) = _cdn_findings(result)
    assert finding.startswith("Bucket product-images sends 6,000 GB a month to the internet")
    assert f"Behind {CDN_NAMES[chosen.provider]}," in finding
    assert (f"would cost {usd(behind.monthly_cost_usd)} a month instead of "
            f"{usd(chosen.monthly_cost_usd)} ({usd(saving)} less)") in finding
    # the option as recommended is unchanged: the images still leave as internet egress
    assert not any(li.component.startswith("CDN") and li.workload == "product-images"
                   for li in chosen.line_items)
    # the images' requests were not stated: priced at the most a file size makes
    assert finding.endswith("Requests are not stated: priced as one per 30 kB (the size of "
                            "web assets); larger files make fewer and save more.")


def test_no_cdn_finding_for_a_public_or_infrequently_read_bucket():
    assert _cdn_findings(assess(_changed(GROCERY, {"public": True}))) == []
    assert _cdn_findings(assess(_changed(GROCERY, {"access": "infrequent"}))) == []


AWS_GROCERY = _changed(GROCERY, preferences={"managed_services": True, "providers": ["aws"]})


def test_no_cdn_finding_where_the_cdn_costs_more_at_the_requests_stated():
    # 200 million requests a month (30 kB images): CloudFront's HTTPS requests in South
    # America cost more than it saves on transfer
    aws = _changed(AWS_GROCERY, {"requests_per_month": 200_000_000})
    result = assess(aws)
    behind = assess(_changed(aws, {"public": True})).options[0]
    assert behind.monthly_cost_usd > result.options[0].monthly_cost_usd
    assert _cdn_findings(result) == []


def test_unstated_requests_name_the_file_size_from_which_the_cdn_saves():
    # the same bucket, its requests not stated: at 30 kB the CDN costs more, but product
    # images are often larger; the finding names the least average size that saves enough
    result = assess(AWS_GROCERY)
    chosen = result.options[0]
    need = max(20.0, 0.02 * chosen.monthly_cost_usd)
    (finding,) = _cdn_findings(result)
    kb = float(finding.split("if the files average ")[1].split(" kB")[0])

    def behind(file_kb: float) -> float:
        return assess(_changed(AWS_GROCERY, {"public": True,
                                             "requests_per_month": 6000 * 1e6 / file_kb}
                               )).options[0].monthly_cost_usd

    at = behind(kb)
    assert (f"this option would cost {usd(at)} a month instead of "
            f"{usd(chosen.monthly_cost_usd)} ({usd(chosen.monthly_cost_usd - at)} less) if "
            f"the files average {kb:g} kB, and less with larger files: files of 1 MB would "
            f"save {usd(chosen.monthly_cost_usd - behind(1000))}.") in finding
    assert chosen.monthly_cost_usd - at >= need
    # the least such size, to the two figures it is rounded up to
    assert chosen.monthly_cost_usd - behind(kb - 1) < need
    assert finding.endswith("Smaller files make more requests, which CloudFront bills: "
                            "state requests_per_month to price them.")


def test_no_cdn_finding_where_even_the_largest_files_would_not_save_enough():
    # 600 GB a month: even with no requests at all CloudFront saves $24.00, under 2% of
    # the option
    small = _changed(AWS_GROCERY, {"egress_gb_per_month": 600})
    assert _cdn_findings(assess(small)) == []


def test_no_cdn_finding_for_a_saving_too_small_to_be_worth_a_component():
    # user uploads: 200 GB a month of egress; Cloud CDN would save $2.80 of $655.63
    req = yaml.safe_load((EXAMPLES / "saas-startup.yaml").read_text())
    result = assess(req)
    uploads = next(w for w in req["workloads"] if w["name"] == "user-uploads")
    uploads["public"] = True
    behind = assess(req).options[0]
    assert 0 < result.options[0].monthly_cost_usd - behind.monthly_cost_usd < 20
    assert _cdn_findings(result) == []


def test_two_buckets_are_named_together():
    text = _cdn_finding(CdnAlternative("CloudFront", ("images", "downloads"), 7000.0,
                                       900.0, 150.0), 1050.0)
    assert text == ("Buckets images, downloads send 7,000 GB a month to the internet itself. "
                    "Behind CloudFront, with the buckets as its origins (set public: true; "
                    "signed URLs keep private objects private), this option would cost $900.00 "
                    "a month instead of $1,050.00 ($150.00 less), and repeated downloads would "
                    "be served from the edge.")


VIDEO = {"name": "Lessons", "users": ["us"], "availability_target": 99.5,
         "preferences": {"providers": ["aws"]},
         "workloads": [{"name": "lessons", "type": "object_storage", "storage_gb": 2000,
                        "public": True, "egress_gb_per_month": 6000}]}


def _request_warnings(req: dict) -> list[str]:
    return [w for w in assess(req).warnings if "CDN requests not stated" in w]


def test_an_assumed_request_count_that_weighs_on_the_price_is_named():
    # 6,000 GB / 30 KB = 200 million requests; CloudFront bills HTTPS requests
    result = assess(VIDEO)
    (requests,) = [li for li in result.options[0].line_items if li.component == "CDN requests"]
    (warning,) = _request_warnings(VIDEO)
    assert warning == (f"lessons: CDN requests not stated; priced as 200,000,000 a month "
                       f"(egress / 30 KB a response, the size of web assets), "
                       f"{usd(requests.monthly_usd)} a month on aws. Files of megabytes "
                       f"(video segments, downloads) make far fewer requests: state "
                       f"requests_per_month.")
    stated = copy.deepcopy(VIDEO)  # the same count, stated: the user's figure, no warning
    stated["workloads"][0]["requests_per_month"] = 200_000_000
    assert _request_warnings(stated) == []


def test_no_warning_where_the_assumed_requests_cost_little_or_nothing():
    small = copy.deepcopy(VIDEO)
    small["workloads"][0]["egress_gb_per_month"] = 300  # 10 million requests: $10 on aws
    assert _request_warnings(small) == []
    azure = copy.deepcopy(VIDEO)
    azure["preferences"]["providers"] = ["azure"]  # Azure CDN Standard bills no requests
    assert _request_warnings(azure) == []
