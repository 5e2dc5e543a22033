"""A framework that asks for a WAF or customer-managed keys gets them in the design, priced.

Before: every PCI DSS design, on every provider, carried the same two gaps (Req. 6.4.2, a
WAF in front of public web applications; Req. 3.6.1, keys the customer controls), each
with an unpriced remediation: a payments design no architect would sign as it stood.
"""

import pytest

from infra_mind.catalog.model import ProductFamily, Unit
from infra_mind.engine.compliance.evaluate import evaluate
from infra_mind.engine.compliance.evidence import design_evidence
from infra_mind.engine.network import SECONDS_PER_MONTH
from infra_mind.engine.protection import LOG_BYTES_PER_REQUEST, WAF_RULES
from tests.engine.rows import catalog, design, lines, network, requirements, row, vm

WAF = [row(ProductFamily.WAF, "waf-web-acl", 5.0, Unit.MONTH, dimension="policy"),
       row(ProductFamily.WAF, "waf-rule", 1.0, Unit.MONTH, dimension="rule"),
       row(ProductFamily.WAF, "waf-requests", 0.6, Unit.REQUESTS_1M, dimension="requests")]
KEYS = [row(ProductFamily.KEY_MANAGEMENT, "kms-key", 1.0, Unit.MONTH, dimension="key"),
        row(ProductFamily.KEY_MANAGEMENT, "kms-requests", 0.03, Unit.REQUESTS_10K,
            dimension="requests")]
MACHINES = [vm("c.large", 2, 4, 0.1), vm("c.xlarge", 4, 8, 0.2)]
BUCKETS = [row(ProductFamily.OBJECT_STORAGE, "s3", 0.02, Unit.GB_MONTH, storage_class="standard"),
           row(ProductFamily.OBJECT_STORAGE, "s3-ia", 0.0125, Unit.GB_MONTH,
               storage_class="infrequent")]
DB = [row(ProductFamily.DATABASE, "db.m.large", 0.2, engine="postgres", deployment="single",
          vcpu=2, memory_gib=8),
      row(ProductFamily.DATABASE_STORAGE, "db-storage", 0.1, Unit.GB_MONTH, engine="postgres")]
API = {"type": "web_service", "peak_rps": 100, "avg_rps": 40, "cpu_ms_per_request": 10,
       "name": "api"}
LEDGER = {"type": "database", "engine": "postgres", "storage_gb": 50, "name": "ledger"}
RECEIPTS = {"type": "object_storage", "storage_gb": 100, "name": "receipts"}


def _pci(*workloads, compliance=("pci_dss",)):
    named = [{k: v for k, v in w.items() if k != "name"} for w in workloads]
    req = requirements(*named, compliance=list(compliance))
    return req.model_copy(update={"workloads": [
        w.model_copy(update={"name": src["name"]}) for w, src in zip(req.workloads, workloads,
                                                                     strict=True)]})


def test_pci_puts_a_priced_waf_on_the_load_balancer():
    d = design(catalog(network(), MACHINES, DB, WAF, KEYS), _pci(API, LEDGER))
    (policy,) = lines(d, "WAF policy")
    (rules,) = lines(d, "WAF rules")
    (inspected,) = lines(d, "WAF requests")
    assert (policy.quantity, policy.monthly_usd) == (1, 5.0)
    assert (rules.quantity, rules.monthly_usd) == (WAF_RULES, 4.0)
    assert inspected.quantity == pytest.approx(40 * SECONDS_PER_MONTH / 1e6)
    assert inspected.monthly_usd == pytest.approx(40 * SECONDS_PER_MONTH / 1e6 * 0.6, abs=0.01)
    assert d.load_balancer
    assert "on the load balancer of api" in d.capabilities["web_application_firewall"]


def test_pci_keys_one_for_each_store_with_the_request_price_said():
    d = design(catalog(network(), MACHINES, DB, WAF, KEYS, BUCKETS), _pci(API, LEDGER, RECEIPTS))
    (keys,) = lines(d, "customer-managed keys")
    assert keys.quantity == 3 and keys.monthly_usd == 3.0
    assert keys.note == ("one key each: ledger, receipts, the machines' disks; key requests "
                         "billed on top at $0.03 per 10K-requests, not sized: the services "
                         "cache the data keys")
    assert not d.unpriced


def test_pci_keeps_a_year_of_logs_in_a_bucket_sized_from_the_requests():
    """PCI DSS 10.5.1 (a year of audit logs, the last three months at hand) had been a gap
    on every PCI design, its remediation unpriced: an architect designs the log archive."""
    d = design(catalog(network(), MACHINES, DB, WAF, KEYS, BUCKETS), _pci(API, LEDGER))
    (hot,) = lines(d, "log archive (last 90 days)")
    (cold,) = lines(d, "log archive (days 91 to 365)")
    # 40 rps through the load balancer, 150 bytes each: 15.77 GB of logs a month
    month_gb = 40 * SECONDS_PER_MONTH * LOG_BYTES_PER_REQUEST / 1e9
    assert month_gb == pytest.approx(15.768)
    assert hot.quantity == pytest.approx(3 * month_gb, abs=1e-3)
    assert cold.quantity == pytest.approx(275 / 30 * month_gb, abs=1e-3)
    assert hot.monthly_usd == pytest.approx(3 * month_gb * 0.02, abs=0.01)
    assert cold.monthly_usd == pytest.approx(275 / 30 * month_gb * 0.0125, abs=0.01)
    assert hot.note.startswith("40 rps x 2,628,000 s x 150 bytes a request (a compressed "
                               "access log entry) = 15.77 GB of logs a month; 90 days of "
                               "them here (3.00 months) once a full year is kept, from "
                               "month 12")
    assert d.capabilities["log_retention_1y"] == (
        "an AWS CloudTrail trail and the load balancer's access logs delivered to an S3 "
        "bucket and kept 365 days: S3 Standard for the first 90, then S3 Standard-IA (a "
        "lifecycle rule)")
    assert not d.unpriced


def test_log_archive_without_a_load_balancer_or_a_price():
    # a database alone: the audit trail, too small to size, and no line
    alone = design(catalog(network(), MACHINES, DB, KEYS, BUCKETS), _pci(LEDGER))
    assert not lines(alone, "log archive (last 90 days)")
    assert "(a few MB a month, not priced)" in alone.capabilities["log_retention_1y"]
    assert "load balancer" not in alone.capabilities["log_retention_1y"]
    # no infrequent class priced: designed all the same, that part listed unpriced
    d = design(catalog(network(), MACHINES, DB, WAF, KEYS, BUCKETS[:1]), _pci(API, LEDGER))
    assert lines(d, "log archive (last 90 days)")
    assert d.unpriced == ["(shared): log archive (days 91 to 365), infrequent object storage "
                          "in aws us-east-1"]
    # without a framework that asks, no archive
    soc2 = design(catalog(network(), MACHINES, DB, WAF, KEYS, BUCKETS),
                  _pci(API, LEDGER, compliance=("soc2",)))
    assert not [li for li in lines(soc2) if li.component.startswith("log archive")]
    assert "log_retention_1y" not in soc2.capabilities


def test_the_controls_are_met_and_the_evidence_names_the_keys():
    req = _pci(API, LEDGER)
    d = design(catalog(network(), MACHINES, DB, WAF, KEYS), req)
    ev = design_evidence(req, d)
    assert "customer-managed keys (AWS KMS)" in ev.capabilities["encryption_at_rest"]
    assert "AWS KMS-managed keys" not in ev.capabilities["encryption_at_rest"]


def test_without_a_framework_that_asks_there_is_no_waf_and_no_keys():
    d = design(catalog(network(), MACHINES, DB, WAF, KEYS), _pci(API, LEDGER,
                                                                 compliance=("soc2",)))
    components = {li.component for li in lines(d)}
    assert not {c for c in components if "WAF" in c or "keys" in c}
    assert "web_application_firewall" not in d.capabilities
    assert not [u for u in d.unpriced if "key" in u]


def test_a_waf_the_catalog_cannot_price_is_designed_and_listed_unpriced():
    d = design(catalog(network(), MACHINES, DB, KEYS), _pci(API, LEDGER))
    assert not [li for li in lines(d) if "WAF" in li.component]
    assert "(shared): WAF in aws us-east-1" in d.unpriced
    assert "web_application_firewall" in d.capabilities


def test_pci_gaps_close_in_the_evaluation():
    from infra_mind.engine.assess import _facts

    req = _pci(API, LEDGER)
    d = design(catalog(network(), MACHINES, DB, WAF, KEYS), req)
    status = {c.control_id: c.status for c in evaluate(_facts(req, d), ["pci_dss"])}
    assert status["PCI-APP-01"] == "met" and status["PCI-DATA-02"] == "met"
    assert status["PCI-LOG-02"] == "met"


def test_on_azure_the_waf_is_an_application_gateway_in_place_of_the_layer_4_balancer():
    from infra_mind.catalog.model import Provider

    az = Provider.AZURE
    rows = [row(ProductFamily.LOAD_BALANCER, "lb", 0.025, provider=az, dimension="hourly"),
            row(ProductFamily.LOAD_BALANCER, "lb-data", 0.005, Unit.GB, provider=az,
                dimension="data"),
            row(ProductFamily.WAF, "appgw-waf-v2", 0.36, provider=az, dimension="hourly"),
            row(ProductFamily.WAF, "appgw-waf-v2-cu", 0.0144, provider=az,
                dimension="capacity"),
            row(ProductFamily.NAT_GATEWAY, "nat", 0.045, provider=az, dimension="hourly"),
            vm("D2", 2, 4, 0.1, provider=az, arch="x86_64")]
    api = {k: v for k, v in API.items() if k != "name"}
    d = design(catalog(rows), requirements(api, provider="azure", compliance=["pci_dss"]))
    components = [li.component for li in lines(d)]
    assert not [c for c in components if c.startswith("load balancer")]
    (gateway,) = lines(d, "WAF gateway")
    (units,) = lines(d, "WAF gateway capacity units")
    assert gateway.quantity == 730 and gateway.monthly_usd == pytest.approx(262.80)
    # 40 rps at about 10 requests a second per compute unit: 4 capacity units all month
    assert units.quantity == pytest.approx(4 * 730)
    assert d.capabilities["web_application_firewall"].startswith(
        "Application Gateway WAF_v2 policy with the managed Default Rule Set")


def test_the_pci_example_closes_its_waf_and_key_gaps_on_every_provider():
    from pathlib import Path

    import yaml

    from infra_mind.engine.assess import assess

    path = Path(__file__).resolve().parents[2] / "examples" / "eu-fintech.yaml"
    result = assess(yaml.safe_load(path.read_text()))
    gaps = {c.control_id for c in result.compliance if c.status == "gap"}
    assert not gaps & {"PCI-APP-01", "PCI-DATA-02", "PCI-LOG-02"}
    assert all(o.compliance_gaps == 0 for o in result.options)
    for option in result.options:
        components = {li.component for li in option.line_items}
        assert {"customer-managed keys" if option.provider != "azure" else "WAF gateway",
                "log archive (last 90 days)", "log archive (days 91 to 365)"} <= components
    components = {li.component for li in result.options[0].line_items}
    assert {"WAF policy", "WAF rules", "WAF requests", "customer-managed keys"} <= components


def test_without_a_framework_the_review_prices_the_waf_it_does_not_have():
    """'Public endpoints without a web application firewall' said nothing of the cost:
    the same WAF the design would carry under PCI is priced, the design left as it is."""
    from infra_mind.engine.assess import assess
    from infra_mind.engine.protection import waf_quote
    from infra_mind.engine.sizing import size_all

    cat = catalog(network(), MACHINES, DB, WAF, KEYS)
    req = _pci(API, LEDGER, compliance=()).model_copy(update={"availability_target": 99.9})
    d = design(cat, req)
    before = d.monthly_usd
    assert d.load_balancer
    cost, name = waf_quote(cat, d, size_all(req))
    # policy $5, four rules $1 each, 40 rps x 2,628,000 s = 105.12M requests at $0.60
    assert cost == pytest.approx(5 + WAF_RULES * 1.0 + 105.12 * 0.6, abs=0.01)
    assert d.monthly_usd == before and name.startswith("AWS WAF web ACL")
    (security,) = [p for p in assess(req, cat).review if p.pillar == "security"]
    assert (f"A WAF on the load balancer ({name}) would add ${cost:,.2f} a month."
            in " ".join(security.findings))
