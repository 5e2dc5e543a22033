"""The compliance evaluator: unit cases plus the invariants the engine relies on."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra_mind.catalog.regions import REGIONS
from infra_mind.engine.compliance import all_frameworks, evaluate, gap_count, load_controls
from infra_mind.engine.facts import CAPABILITIES, ArchitectureFacts, Component
from infra_mind.engine.requirements import Framework

ALL_CAPABILITIES = {cap: f"Component for {cap}" for cap in CAPABILITIES}
PRICES = {"backups": 7.5, "high_availability": 120.5, "network_isolation": 32.85,
          "disaster_recovery": 41.0, "log_retention_1y": 3.2, "web_application_firewall": 11.0,
          "customer_managed_keys": 1.0}


def make_facts(**over) -> ArchitectureFacts:
    # a design with a database and object storage: backups and disaster recovery apply
    fields = dict(provider="aws", region="us-east-1", region_group="us", country="US",
                  zones_used=2, availability_target=99.9, frameworks=(),
                  residency_groups=(), capabilities={}, has_public_endpoint=True,
                  components=(Component("Amazon RDS for PostgreSQL", "database", "db"),
                              Component("Amazon S3", "object_storage", "files")))
    fields.update(over)
    return ArchitectureFacts(**fields)


def by_id(results):
    return {r.control_id: r for r in results}


def test_process_controls_are_the_customers():
    results = evaluate(make_facts(capabilities=ALL_CAPABILITIES), ["hipaa"])
    baa = by_id(results)["HIPAA-BA-01"]
    assert baa.status == "customer"
    assert baa.reference == "45 CFR 164.308(b)(1)"
    assert "business associate agreement" in baa.evidence
    assert baa.remediation == "" and baa.remediation_monthly_usd is None


def test_met_evidence_names_component_and_region():
    facts = make_facts(capabilities={
        "encryption_at_rest": "Amazon RDS storage encryption (AWS KMS)"})
    result = by_id(evaluate(facts, ["hipaa"]))["HIPAA-AC-02"]
    assert result.status == "met"
    assert result.reference == "45 CFR 164.312(a)(2)(iv)"
    assert result.title == "Encryption and decryption"
    assert result.evidence == "Amazon RDS storage encryption (AWS KMS) in us-east-1"
    assert result.remediation == "" and result.remediation_monthly_usd is None


def test_gap_carries_remediation_and_the_engines_price():
    asked = []

    def price(key):
        asked.append(key)
        return PRICES[key]

    results = by_id(evaluate(make_facts(), ["soc2"], price))
    ha = results["SOC2-AV-02"]
    assert ha.status == "gap"
    assert "Multi-AZ" in ha.remediation
    assert ha.remediation_monthly_usd == 120.5
    assert "compute and databases across at least two availability zones" in ha.evidence
    monitoring = results["SOC2-MON-01"]  # a gap without a cost key is never priced
    assert monitoring.status == "gap" and monitoring.remediation_monthly_usd is None
    assert results["SOC2-AV-01"].remediation_monthly_usd == 7.5
    assert sorted(asked) == ["backups", "high_availability", "network_isolation"]


def test_unpriceable_gap_has_no_number():
    (result,) = [r for r in evaluate(make_facts(), ["pci_dss"]) if r.control_id == "PCI-LOG-02"]
    assert result.status == "gap" and result.remediation_monthly_usd is None
    assert "365 days" in result.remediation


def test_waf_applies_only_to_public_endpoints():
    private = by_id(evaluate(make_facts(has_public_endpoint=False), ["pci_dss"]))
    assert private["PCI-APP-01"].status == "met"
    assert private["PCI-APP-01"].evidence == "Not applicable: no public endpoint"
    public = by_id(evaluate(make_facts(), ["pci_dss"], PRICES.get))
    assert public["PCI-APP-01"].status == "gap"
    assert public["PCI-APP-01"].remediation_monthly_usd == 11.0
    protected = by_id(evaluate(make_facts(capabilities={
        "web_application_firewall": "AWS WAF on the Application Load Balancer"}), ["pci_dss"]))
    assert protected["PCI-APP-01"].status == "met"


def test_gdpr_transfers_met_in_eu_and_uk_regions():
    for region, group, country in [("eu-west-1", "eu", "IE"), ("uksouth", "uk", "GB")]:
        facts = make_facts(region=region, region_group=group, country=country)
        art44 = by_id(evaluate(facts, ["gdpr"]))["GDPR-TR-01"]
        assert art44.status == "met"
        assert region in art44.evidence and country in art44.evidence


def test_gdpr_transfers_gap_outside_europe():
    art44 = by_id(evaluate(make_facts(), ["gdpr"]))["GDPR-TR-01"]
    assert art44.status == "gap"
    assert "us-east-1 (US, region group us)" in art44.evidence
    assert "EU or UK region" in art44.remediation


def test_gdpr_transfers_met_when_residency_restricts_to_europe():
    facts = make_facts(residency_groups=("eu",), capabilities={
        "data_residency": "Every component in an allowed region"})
    assert by_id(evaluate(facts, ["gdpr"]))["GDPR-TR-01"].status == "met"
    wider = replace(facts, residency_groups=("eu", "us"))
    assert by_id(evaluate(wider, ["gdpr"]))["GDPR-TR-01"].status == "gap"


def test_frameworks_in_given_order_once_each():
    results = evaluate(make_facts(), ["ccpa", Framework.HIPAA, "ccpa"])
    order = list(dict.fromkeys(r.framework for r in results))
    assert order == ["ccpa", "hipaa"]
    assert [r.control_id for r in results if r.framework == "hipaa"] == \
        [c.id for c in load_controls("hipaa")]


def test_no_frameworks_no_results_and_unknown_is_refused():
    assert evaluate(make_facts(), []) == []
    with pytest.raises(ValueError, match="unknown compliance framework 'sox'"):
        evaluate(make_facts(), ["hipaa", "sox"])


def test_gap_count():
    results = evaluate(make_facts(), all_frameworks())
    assert gap_count(results) == sum(r.status == "gap" for r in results) > 0
    assert gap_count(evaluate(make_facts(capabilities=ALL_CAPABILITIES,
                                         region="eu-west-1", region_group="eu",
                                         country="IE"), all_frameworks())) == 0


# --- properties ------------------------------------------------------------------------

frameworks_st = st.lists(st.sampled_from(all_frameworks()), max_size=8)
capabilities_st = st.sets(st.sampled_from(sorted(CAPABILITIES)))
regions_st = st.sampled_from(sorted(REGIONS.values(), key=lambda r: (r.provider, r.code)))


@st.composite
def facts_st(draw, capabilities=capabilities_st):
    region = draw(regions_st)
    caps = draw(capabilities)
    return make_facts(provider=region.provider.value, region=region.code,
                      region_group=region.group, country=region.country,
                      residency_groups=tuple(draw(st.sets(st.sampled_from(
                          ["us", "ca", "eu", "uk", "apac", "sa"])))),
                      capabilities={c: f"Component for {c}" for c in caps},
                      has_public_endpoint=draw(st.booleans()))


@settings(max_examples=150, deadline=None)
@given(facts=facts_st(), frameworks=frameworks_st, extra=st.sampled_from(all_frameworks()))
def test_adding_a_framework_changes_no_other_framework(facts, frameworks, extra):
    before = evaluate(facts, frameworks, PRICES.get)
    after = evaluate(facts, [*frameworks, extra], PRICES.get)
    kept = [r for r in after if r.framework in set(frameworks)]
    assert kept == before


@settings(max_examples=150, deadline=None)
@given(facts=facts_st(), more=capabilities_st, frameworks=frameworks_st)
def test_more_capabilities_never_turn_met_into_gap(facts, more, frameworks):
    richer = replace(facts, capabilities={**facts.capabilities,
                                          **{c: f"Extra {c}" for c in more}})
    poor, rich = evaluate(facts, frameworks), evaluate(richer, frameworks)
    assert [r.control_id for r in poor] == [r.control_id for r in rich]
    for p, r in zip(poor, rich, strict=True):
        if p.status == "met":
            assert r.status == "met", p.control_id
        assert (p.status == "customer") == (r.status == "customer")


@settings(max_examples=150, deadline=None)
@given(facts=facts_st(), frameworks=frameworks_st)
def test_output_belongs_to_requested_frameworks_in_a_fixed_order(facts, frameworks):
    results = evaluate(facts, frameworks, PRICES.get)
    assert {r.framework for r in results} <= set(frameworks)
    assert results == evaluate(facts, frameworks, PRICES.get)
    expected = [c.id for f in dict.fromkeys(frameworks) for c in load_controls(f)]
    assert [r.control_id for r in results] == expected


@settings(max_examples=150, deadline=None)
@given(facts=facts_st(), frameworks=frameworks_st)
def test_only_gaps_carry_remediation(facts, frameworks):
    for r in evaluate(facts, frameworks, PRICES.get):
        if r.status != "gap":
            assert r.remediation_monthly_usd is None and r.remediation == "", r.control_id
        else:
            assert r.remediation
        assert r.evidence


@settings(max_examples=100, deadline=None)
@given(facts=facts_st(capabilities=st.just(set(CAPABILITIES))))
def test_full_capabilities_leave_only_the_residency_gap(facts):
    gaps = {r.control_id for r in evaluate(facts, all_frameworks()) if r.status == "gap"}
    assert gaps <= {"GDPR-TR-01"}
    assert ("GDPR-TR-01" in gaps) == (facts.region_group not in ("eu", "uk") and not (
        facts.residency_groups and set(facts.residency_groups) <= {"eu", "uk"}))
