"""The CTO's risks section lists the findings that carry a risk.

A marketplace's "Operational excellence (medium risk)" opened with "Metrics and alarms:
Azure Monitor metrics and alerts.", and its security risk sat among paragraphs on
encryption: every finding of a pillar at risk was listed as a risk.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from infra_mind.agents.sections import SPECS
from infra_mind.engine.assess import assess

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
risks = SPECS[("cto", "risks")]


def test_only_the_findings_at_risk_are_listed_and_the_facts_give_each_its_own_risk():
    doc = yaml.safe_load((EXAMPLES / "marketplace-platform.yaml").read_text())
    result = assess(doc)
    text = risks.offline(result)
    facts = risks.facts(result)
    calm = [f for p in result.review for f, r in zip(p.findings, p.finding_risks, strict=True)
            if r == "none" and p.risk != "none"]
    assert calm  # the case this is about: a pillar at risk with findings that are not
    for finding in calm:
        assert finding not in text
        assert any(fact.startswith("review ") and fact.endswith(f"(none risk): {finding}")
                   for fact in facts)
    for p in result.review:
        for finding, risk in zip(p.findings, p.finding_risks, strict=True):
            if risk != "none":
                assert finding in text
    # a result stored before findings had their own risk lists them all, as it did
    older = result.model_copy(update={"review": [
        p.model_copy(update={"finding_risks": []}) for p in result.review]})
    assert all(f in risks.offline(older) for p in older.review if p.risk != "none"
               for f in p.findings)
