"""The assessment contract on hand-made requirements (the examples have their own test)."""

import pytest

import infra_mind
from infra_mind.catalog.store import default_catalog
from infra_mind.engine.assess import assess

CONTRACT = {"requirements", "demand", "options", "recommended", "projection", "budget",
            "compliance", "review", "catalog_as_of", "warnings"}
LINE = {"workload", "component", "service", "sku", "region", "quantity", "unit",
        "unit_price_usd", "monthly_usd", "purchase_option", "source", "as_of"}

BASE = {
    "name": "shop",
    "business": {"industry": "retail", "monthly_budget_usd": 400, "growth_rate_monthly": 0.05,
                 "horizon_months": 6},
    "compliance": ["soc2"],
    "availability_target": 99.9,
    "workloads": [
        {"name": "api", "type": "web_service", "peak_rps": 100, "avg_rps": 30,
         "cpu_ms_per_request": 30, "memory_gb": 2, "egress_gb_per_month": 200},
        {"name": "db", "type": "database", "engine": "postgres", "storage_gb": 50},
        {"name": "files", "type": "object_storage", "storage_gb": 1000,
         "growth_gb_per_month": 100},
    ],
}


@pytest.fixture(scope="module")
def result():
    return assess(BASE, default_catalog())


def test_contract_fields(result):
    doc = result.model_dump(mode="json")
    assert set(doc) >= CONTRACT
    assert {o["provider"] for o in doc["options"]} == {"aws", "azure", "gcp"}
    for option in doc["options"]:
        assert {"provider", "region", "monthly_cost_usd", "line_items", "commitment",
                "compliance_gaps", "constraints_met", "violations"} <= set(option)
        for li in option["line_items"]:
            assert set(li) >= LINE
    assert {"provider", "region", "reasons"} <= set(doc["recommended"])
    assert len(doc["projection"]) == 6
    assert {"month", "monthly_cost_usd", "p10", "p90"} <= set(doc["projection"][0])
    assert {"monthly_budget_usd", "within_budget", "gap_usd"} <= set(doc["budget"])
    assert {c["status"] for c in doc["compliance"]} <= {"met", "gap", "customer"}
    assert {p["pillar"] for p in doc["review"]} == {
        "operational_excellence", "security", "reliability", "performance_efficiency",
        "cost_optimization", "sustainability"}


def test_totals_equal_the_sum_of_lines(result):
    for option in result.options:
        assert option.monthly_cost_usd == pytest.approx(
            sum(li.monthly_usd for li in option.line_items), abs=0.011)
        for li in option.line_items:
            assert li.monthly_usd == pytest.approx(li.quantity * li.unit_price_usd, abs=0.02)
            assert li.unit_price_usd > 0 and li.source and li.as_of


def test_every_price_is_the_catalogs(result):
    catalog = default_catalog()
    for option in result.options:
        for li in option.line_items:
            rows = catalog.lookup(option.provider, li.sku, li.region, li.purchase_option)
            assert any(r.price_usd == li.unit_price_usd and r.source == li.source
                       for r in rows), li


def test_the_recommendation_is_an_option_and_reasons_are_ranked(result):
    rec = result.recommended
    chosen = [o for o in result.options if (o.provider, o.region) == (rec.provider, rec.region)]
    assert len(chosen) == 1 and chosen[0].monthly_cost_usd == rec.monthly_cost_usd
    assert rec.reasons and rec.reasons[0].startswith("Ranked first of 3 options by ")
    assert rec.ranking_rule.startswith(rec.reasons[0].removeprefix("Ranked first of 3 options by "))
    assert [o.rank for o in result.options] == [1, 2, 3]
    assert (result.options[0].provider, result.options[0].region) == (rec.provider,
                                                                       rec.region)
    assert {(a.provider, a.region) for a in rec.alternatives} == {
        (o.provider, o.region) for o in result.options} - {(rec.provider, rec.region)}
    for alt in rec.alternatives:
        assert alt.delta_usd == pytest.approx(alt.monthly_cost_usd - rec.monthly_cost_usd,
                                              abs=0.011)


def test_availability_99_9_means_two_zones_and_ha_database(result):
    for option in result.options:
        app = [li for li in option.line_items if li.workload == "api"]
        assert app and app[0].quantity >= 2 * 730
        db = [li for li in option.line_items if li.workload == "db" and li.unit == "hour"]
        assert db and ("HA" in db[0].component or "standby" in db[0].component)


def test_budget_and_projection(result):
    rec = result.recommended
    assert result.budget.within_budget is (rec.monthly_cost_usd <= 400)
    assert result.budget.gap_usd == pytest.approx(rec.monthly_cost_usd - 400, abs=0.011)
    months = result.projection
    assert months[0].monthly_cost_usd == pytest.approx(rec.monthly_cost_usd, abs=0.02)
    # storage accumulates 100 GB a month and traffic grows 5%: cost rises
    assert months[-1].monthly_cost_usd > months[0].monthly_cost_usd
    assert all(m.p10 <= m.monthly_cost_usd <= m.p90 for m in months)


def test_deterministic():
    a = assess(BASE).model_dump_json()
    b = infra_mind.assess(BASE).model_dump_json()
    assert a == b


def test_residency_and_provider_restrictions():
    req = {**BASE, "data_residency": ["eu"], "preferences": {"providers": ["aws", "gcp"]}}
    result = assess(req)
    assert {o.provider for o in result.options} == {"aws", "gcp"}
    from infra_mind.catalog.regions import region
    assert all(region(o.provider, o.region).group == "eu" for o in result.options)
    pinned = assess({**BASE, "preferences": {"regions": ["westeurope"],
                                             "providers": ["azure"]}})
    assert [(o.provider, o.region) for o in pinned.options] == [("azure", "westeurope")]


def test_no_allowed_region_is_an_empty_result_with_a_warning():
    result = assess({**BASE, "data_residency": ["uk"],
                     "preferences": {"regions": ["us-east-1"]}})
    assert result.options == [] and result.recommended is None
    assert any("nothing to price" in w for w in result.warnings)


def test_spot_only_for_interruptible_work_when_allowed():
    req = {"name": "batch", "availability_target": 99.0,
           "preferences": {"spot_ok": True, "regions": ["us-east-1"], "providers": ["aws"]},
           "workloads": [
               {"name": "crunch", "type": "worker", "vcpu": 8, "memory_gb": 16,
                "interruptible": True},
               {"name": "steady", "type": "worker", "vcpu": 8, "memory_gb": 16}]}
    (option,) = assess(req).options
    by = {li.workload: li.purchase_option for li in option.line_items}
    assert by == {"crunch": "spot", "steady": "on_demand"}
    no_spot = assess({**req, "preferences": {**req["preferences"], "spot_ok": False}})
    assert {li.purchase_option for li in no_spot.options[0].line_items} == {"on_demand"}


def test_commitment_prices_only_when_asked_and_sourced():
    req = {"name": "steady", "availability_target": 99.0,
           "preferences": {"regions": ["us-central1"], "providers": ["gcp"]},
           "workloads": [{"name": "svc", "type": "worker", "vcpu": 16, "memory_gb": 64}]}
    (plain,) = assess(req).options
    assert {li.purchase_option for li in plain.line_items} == {"on_demand"}
    committed = assess({**req, "preferences": {**req["preferences"], "commitment": "3y"}})
    (option,) = committed.options
    # GCE commitments are sourced for c2 in this region: chosen where they are cheaper
    assert {li.purchase_option for li in option.line_items} == {"reserved_3y"}
    assert option.monthly_cost_usd < plain.monthly_cost_usd
    catalog = default_catalog()
    for li in option.line_items:
        (row,) = catalog.lookup("gcp", li.sku, "us-central1", "reserved_3y")
        assert row.price_usd == li.unit_price_usd
    analysis = {c.purchase_option: c for c in option.commitment}
    assert analysis["on_demand"].monthly_usd > option.monthly_cost_usd
    assert analysis["reserved_3y"].monthly_usd == pytest.approx(option.monthly_cost_usd,
                                                                abs=0.011)
    assert 0 < analysis["reserved_3y"].break_even_month <= 36
    assert analysis["reserved_1y"].break_even_month <= 12


def test_large_quantities_are_written_out_not_in_exponents():
    """A radiology archive's disaster-recovery copy read "one copy of 120300 GB", and at
    1.2 million GB ``:g`` would have written 1.2e+06; the sizing trace's ``:,.4g`` wrote
    120,300 GB as 1.203e+05."""
    import json
    import re

    req = {"name": "archive", "compliance": ["hipaa"], "users": ["us"],
           "availability_target": 99.9,
           "workloads": [
               {"name": "api", "type": "web_service", "peak_rps": 50, "avg_rps": 10,
                "cpu_ms_per_request": 20, "egress_gb_per_month": 1_500_000},
               {"name": "db", "type": "database", "storage_gb": 120_300, "memory_gb": 64},
               {"name": "dicom", "type": "object_storage", "storage_gb": 2_000_000,
                "access": "infrequent", "public": True, "egress_gb_per_month": 1_200_000}]}
    text = json.dumps(assess(req, default_catalog()).model_dump(mode="json"))
    assert not re.findall(r"\de[+-]\d", text)
    assert "one copy of " in text and "2,120,300" in text


def test_aws_services_are_named_as_aws_names_them():
    """"AmazonRDS automated backups" and "TLS required on AmazonRDS db.r6g.large": the
    price list's service codes had reached the evidence and the line items."""
    import re

    from infra_mind.catalog.model import SERVICE_NAMES

    req = {**BASE, "compliance": ["hipaa", "soc2"], "users": ["us"],
           "preferences": {"providers": ["aws"]}}
    result = assess(req, default_catalog())
    texts = [li.service for o in result.options for li in o.line_items]
    texts += [li.note for o in result.options for li in o.line_items]
    texts += [c.evidence for c in result.compliance] + result.recommended.reasons
    texts += [f for p in result.review for f in p.findings]
    codes = re.compile(r"\b(" + "|".join(SERVICE_NAMES) + r")\b")
    assert not [t for t in texts if codes.search(t)]
    assert "Amazon RDS" in {li.service for li in result.options[0].line_items}
    assert any("Amazon RDS automated backups" in c.evidence for c in result.compliance)
