"""The remediation plan's steps read in order whichever of them a design has.

A Brazilian payments app's one PCI gap, unpriced, was headed "And additions with a running
cost the catalog cannot price": "And" with nothing before it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from infra_mind.agents.sections import SPECS
from infra_mind.engine.assess import assess

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
plan = SPECS[("compliance", "remediation_plan")].offline


def test_a_plan_of_only_unpriced_additions_does_not_open_with_and():
    # data kept in India, where the catalog covers one region per provider: the disaster
    # recovery copy has no second region to go to, so its cost is unpriced (a Brazilian
    # PCI DSS case served here until the year of logs was designed in)
    doc = {"name": "in", "compliance": ["hipaa"], "data_residency": ["IN"],
           "users": ["IN"], "availability_target": 99.95,
           "workloads": [{"name": "api", "type": "web_service", "peak_rps": 150,
                          "cpu_ms_per_request": 20, "memory_gb": 1},
                         {"name": "ledger", "type": "database", "storage_gb": 150}]}
    text = plan(assess(doc))
    assert text.startswith("**Additions with a running cost the catalog cannot price**")
    assert "**And additions" not in text


def test_later_steps_say_then_and_and_after_earlier_ones():
    for name in ("eu-fintech", "hipaa-telehealth", "uk-public-sector", "saas-startup"):
        text = plan(assess(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())))
        heads = [line for line in text.splitlines() if line.startswith("**")]
        for i, head in enumerate(heads):
            if head.startswith(("**Then,", "**And ")):
                assert i > 0, (name, head)
