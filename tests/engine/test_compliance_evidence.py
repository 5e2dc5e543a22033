"""Compliance evidence is true of the design it is shown for.

"Met" names only components the design contains; encryption in transit is met only when
every hop is encrypted (the load balancer, on to the app servers, every database
connection); GDPR's transfers article says what the customer still owns; and a
remediation that adds a running cost never says it adds none.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra_mind.agents.sections import SPECS
from infra_mind.catalog.regions import region
from infra_mind.engine.assess import assess
from infra_mind.engine.compliance.catalog import load_controls
from infra_mind.engine.compliance.evaluate import NO_RUNNING_COST
from tests.engine.test_properties import SETTINGS, catalog, requirements

HOMES = [("aws", "us-east-1"), ("azure", "eastus"), ("gcp", "us-central1")]
API = {"name": "api", "type": "web_service", "peak_rps": 50, "cpu_ms_per_request": 20}
DB = {"name": "ledger", "type": "database", "storage_gb": 100}
FILES = {"name": "files", "type": "object_storage", "storage_gb": 500}
#: How each provider's evidence names a managed database and object storage.
DATABASE_WORDS = {"aws": "RDS", "azure": "Azure Database", "gcp": "Cloud SQL"}
OBJECT_WORDS = {"aws": "S3", "azure": "Azure Storage", "gcp": "Cloud Storage"}
#: Words that name one provider's products.
PRODUCT_WORDS = {"aws": ("AWS", "ACM", "KMS"), "azure": ("Azure", "Entra"),
                 "gcp": ("Google", "Cloud IAM")}


def run(provider: str, code: str, workloads: list[dict], *, managed: bool = True,
        frameworks=("hipaa", "pci_dss"), **top):
    req = {"name": "evidence", "availability_target": 99.9, "compliance": list(frameworks),
           "preferences": {"providers": [provider], "regions": [code],
                           "managed_services": managed},
           "workloads": workloads, **top}
    return assess(req, catalog())


def control(result, control_id: str):
    (found,) = [c for c in result.compliance if c.control_id == control_id]
    return found


def managed_database(result) -> bool:
    return any(li.workload == "ledger" and li.component.startswith("managed")
               for li in result.options[0].line_items)


@pytest.mark.parametrize(("provider", "code"), HOMES)
def test_encryption_at_rest_names_only_the_stores_the_design_has(provider, code):
    """PCI 3.5.1 was "met: EBS, RDS and S3 encryption" for a design with no RDS and no S3."""
    bare = control(run(provider, code, [API]), "PCI-DATA-01")
    assert bare.status == "met"
    assert DATABASE_WORDS[provider] not in bare.evidence
    assert OBJECT_WORDS[provider] not in bare.evidence
    with_files = control(run(provider, code, [API, FILES]), "PCI-DATA-01")
    assert OBJECT_WORDS[provider] in with_files.evidence and "(files)" in with_files.evidence
    result = run(provider, code, [API, DB])
    evidence = control(result, "PCI-DATA-01").evidence
    assert (DATABASE_WORDS[provider] in evidence) == managed_database(result)


@pytest.mark.parametrize(("provider", "code"), HOMES)
def test_transit_is_met_only_when_every_hop_is_encrypted(provider, code):
    """HIPAA 164.312(e)(1) was met by TLS ending at the load balancer, whatever the hops
    behind it: a self-managed database the app reaches in clear is now the gap, named."""
    self_managed = run(provider, code, [API, DB], managed=False)
    tx = control(self_managed, "HIPAA-TX-01")
    assert tx.status == "gap"
    assert "self-managed database (ledger)" in tx.evidence
    assert tx.remediation_cost_basis == "none"  # certificates and a setting
    assert "every database connection" in tx.remediation
    managed = run(provider, code, [API, DB])
    if managed_database(managed):
        tx = control(managed, "HIPAA-TX-01")
        assert tx.status == "met"
        assert "TLS required on" in tx.evidence  # the managed database's TLS-only setting
        assert "backends" in tx.evidence or "targets" in tx.evidence  # and on to the app


def test_gdpr_transfers_say_what_the_customer_still_owns():
    """GDPR Art. 44 was "met" by the region alone: support access and sub-processors are
    the customer's part, and a control of its own says so."""
    result = run("aws", "eu-west-1", [API], frameworks=("gdpr",), data_residency=["eu"])
    art44 = control(result, "GDPR-TR-01")
    assert art44.status == "met"
    assert "sub-processors" in art44.evidence and "customer's part" in art44.evidence
    transfers = control(result, "GDPR-TR-02")
    assert transfers.status == "customer" and transfers.reference == "Art. 46(2)(c)"
    assert "Standard Contractual Clauses" in transfers.evidence


def test_backup_and_recovery_remediations_carry_their_running_cost():
    """HIPAA's backup and cross-region recovery remediations were listed under "no added
    running cost": a copy of the data is storage that is billed every month."""
    result = run("aws", "us-east-1", [API, DB, FILES], managed=False, frameworks=("hipaa",))
    for control_id in ("HIPAA-CP-01", "HIPAA-CP-02"):
        gap = control(result, control_id)
        assert gap.status == "gap" and gap.remediation_cost_basis in ("priced", "unpriced")
        if gap.remediation_cost_basis == "priced":
            assert gap.remediation_monthly_usd > 0 and "one copy of" in gap.remediation_cost_note
    dr = control(result, "HIPAA-CP-02")
    assert "us-east-1" not in dr.remediation_cost_note.split(" (")[0]  # another region
    plan = SPECS[("compliance", "remediation_plan")].offline(result)
    free = plan.split("**Then")[0].split("**And")[0]
    assert "164.308(a)(7)(ii)(A)" not in free and "164.308(a)(7)(ii)(B)" not in free


def test_recovery_copies_stay_within_residency_named_by_country_or_group():
    # data kept in India: the catalog covers one region there per provider, so there is
    # no second region to copy to, and the note says so (it said no price was found)
    india = run("aws", "ap-south-1", [API, DB], frameworks=("hipaa",), data_residency=["IN"])
    dr = control(india, "HIPAA-CP-02")
    assert dr.status == "gap" and dr.remediation_cost_basis == "unpriced"
    assert dr.remediation_cost_note == ("the catalog covers no second aws region within the "
                                        "data residency (IN)")
    # named by group, the copy goes to another region of the group
    eu = run("aws", "eu-central-1", [API, DB], frameworks=("hipaa",), data_residency=["eu"])
    note = control(eu, "HIPAA-CP-02").remediation_cost_note
    copy_region = note.split(" in infrequent-access object storage in ")[1].split(" ")[0]
    assert copy_region != "eu-central-1" and region("aws", copy_region).group == "eu"


def test_backups_and_recovery_do_not_apply_to_a_design_that_stores_nothing():
    result = run("gcp", "us-central1", [API], frameworks=("hipaa",))
    assert control(result, "HIPAA-CP-01").evidence == ("Not applicable: the design has no "
                                                       "database")
    assert control(result, "HIPAA-CP-02").status == "met"


def _evidence_words_hold(result) -> None:
    option = result.options[0]
    services = " ".join(li.service for li in option.line_items)
    kinds = {w.type for w in result.requirements.workloads}
    for c in result.compliance:
        if c.status != "met":
            continue
        if DATABASE_WORDS[option.provider] in c.evidence:
            # a managed database line (its service is the managed database service)
            assert any(li.component.startswith("managed") and li.unit == "hour"
                       for li in option.line_items), (c.control_id, c.evidence, services)
        if OBJECT_WORDS[option.provider] + " " in c.evidence + " ":
            # a bucket the requirements ask for, or the design's own log archive: priced,
            # or said too small to price
            assert (kinds & {"object_storage", "static_site"}
                    or any(li.component.startswith("log archive")
                           for li in option.line_items)
                    or "(a few MB a month, not priced)" in c.evidence), (
                c.control_id, c.evidence)


@SETTINGS
@given(req=requirements().filter(lambda r: bool(r.compliance)))
def test_every_met_control_names_what_the_design_has_and_every_gap_its_cost(req):
    result = assess(req, catalog())
    if not result.options:
        return
    _evidence_words_hold(result)
    capability = {c.id: c.capability for f in req.compliance for c in load_controls(f)}
    code = result.options[0].region
    for c in result.compliance:
        # SOC 2's A1.2 read "2 availability zones in us-east1 in us-east1"
        assert f"in {code} in {code}" not in c.evidence, c.evidence
        if c.status != "gap":
            assert c.remediation_cost_basis == "" and c.remediation_monthly_usd is None
            continue
        assert c.remediation_cost_basis in ("priced", "unpriced", "none"), c
        assert (c.remediation_cost_basis == "priced") == (c.remediation_monthly_usd is not None)
        if c.remediation_cost_basis == "none":
            assert capability[c.control_id] in NO_RUNNING_COST, c.control_id
            # in the design's provider's terms: an Azure note named ACM and Google
            others = [w for p, words in PRODUCT_WORDS.items()
                      if p != result.options[0].provider for w in words]
            assert not [w for w in others if w in c.remediation_cost_note], c
        if c.remediation_cost_basis == "priced":
            assert c.remediation_cost_note, c.control_id


@settings(max_examples=20, deadline=None)
@given(frameworks=st.lists(st.sampled_from(["hipaa", "pci_dss", "gdpr", "soc2"]),
                           min_size=1, max_size=2, unique=True),
       managed=st.booleans(), home=st.sampled_from(HOMES))
def test_transit_met_means_no_self_managed_database(frameworks, managed, home):
    result = run(*home, [API, DB], managed=managed, frameworks=frameworks)
    self_managed = any("self-managed" in li.component and li.workload == "ledger"
                       for li in result.options[0].line_items)
    for c in result.compliance:
        if c.control_id in ("HIPAA-TX-01", "PCI-TX-01", "GDPR-SEC-02", "SOC2-TX-01"):
            assert (c.status == "met") == (not self_managed), (c.control_id, c.evidence)


@pytest.mark.parametrize(("provider", "code"), HOMES)
def test_a_configuration_only_remediation_speaks_of_the_designs_provider(provider, code):
    """A self-managed database's TLS gap on Azure said its certificates could come from
    "ACM, Google-managed"."""
    gap = control(run(provider, code, [API, DB], managed=False, frameworks=("hipaa",)),
                  "HIPAA-TX-01")
    assert gap.status == "gap" and gap.remediation_cost_basis == "none"
    others = [w for p, words in PRODUCT_WORDS.items() if p != provider for w in words]
    assert not [w for w in others if w in gap.remediation_cost_note]
