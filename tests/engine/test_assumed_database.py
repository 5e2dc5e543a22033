"""A database sized from its data is named where that assumption sets the bill.

Found on a made-up payments gateway in India (2026-12-06): a 1,500 GB ledger with no
``memory_gb`` was sized at a tenth of its data in memory, 150 GiB, so the options priced
32-vCPU database machines, $4,870.63 to $5,986.73 a month, 66-78% of each bill. Nothing
said the figure was assumed. A ledger keeps far less than a tenth of its rows hot; an
architect would ask for the working set. Real catalog.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from infra_mind.engine.assess import (
    ASSUMED_DATABASE_WARN_SHARE,
    ASSUMED_DATABASE_WARN_USD,
    assess,
)
from infra_mind.engine.money import usd
from tests.engine.test_properties import catalog

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

LEDGER = {
    "name": "Payments gateway (India)",
    "business": {"industry": "fintech", "company_size": "medium"},
    "compliance": ["pci_dss"],
    "data_residency": ["IN"],
    "availability_target": 99.95,
    "preferences": {"managed_services": True},
    "workloads": [
        {"name": "payments-api", "type": "web_service", "peak_rps": 1500, "avg_rps": 400,
         "cpu_ms_per_request": 25, "memory_gb": 2, "egress_gb_per_month": 2000},
        {"name": "ledger-db", "type": "database", "engine": "postgres", "storage_gb": 1500},
    ],
}


def ledger(**db) -> dict:
    return {**LEDGER, "workloads": [LEDGER["workloads"][0],
                                    {**LEDGER["workloads"][1], **db}]}


def database_machines(option, name: str) -> float:
    """What the option's database machines for ``name`` cost a month, from its lines."""
    return sum(i.monthly_usd for i in option.line_items if i.workload == name
               and i.component.startswith(("managed postgres", "postgres servers")))


def warnings_about(result, name: str) -> list[str]:
    return [w for w in result.warnings if w.startswith(f"{name}: memory_gb not stated")]


def test_an_assumed_memory_that_sets_the_bill_is_named_with_its_cost():
    result = assess(ledger(), catalog())
    dearest = max(result.options, key=lambda o: database_machines(o, "ledger-db"))
    cost = database_machines(dearest, "ledger-db")
    assert cost >= ASSUMED_DATABASE_WARN_USD
    share = cost / dearest.monthly_cost_usd
    assert share >= ASSUMED_DATABASE_WARN_SHARE
    assert warnings_about(result, "ledger-db") == [
        f"ledger-db: memory_gb not stated, so 150 GiB and 18.75 vCPUs were assumed (a tenth "
        f"of its 1,500 GB of data in memory); its database machines cost {usd(cost)} a month "
        f"on {dearest.provider} {dearest.region}, {share:.0%} of that option. State memory_gb "
        "(the working set to keep in memory) and vcpu if they are smaller."]


def test_stated_vcpus_are_not_called_assumed():
    (warning,) = warnings_about(assess(ledger(vcpu=8), catalog()), "ledger-db")
    assert "so 150 GiB were assumed" in warning and "vCPUs" not in warning


def test_a_stated_memory_or_a_database_that_does_not_set_the_bill_is_left_alone():
    assert not warnings_about(assess(ledger(memory_gb=32), catalog()), "ledger-db")
    # 80 GB: 8 GiB assumed, machines of about $200-280 a month
    saas = yaml.safe_load((EXAMPLES / "saas-startup.yaml").read_text(encoding="utf-8"))
    assert not any("memory_gb not stated" in w for w in assess(saas, catalog()).warnings)
    # 300 GB behind a game's asset delivery: $656-789 a month, under 20% of each option
    game = yaml.safe_load((EXAMPLES / "mobile-game-assets.yaml").read_text(encoding="utf-8"))
    result = assess(game, catalog())
    (db,) = [w["name"] for w in game["workloads"] if w["type"] == "database"]
    assert all(database_machines(o, db) >= ASSUMED_DATABASE_WARN_USD for o in result.options)
    assert all(database_machines(o, db) < ASSUMED_DATABASE_WARN_SHARE * o.monthly_cost_usd
               for o in result.options)
    assert not warnings_about(result, db)


def test_a_small_bill_is_not_worth_the_warning_however_large_the_share():
    small = {**ledger(storage_gb=60), "compliance": []}  # no WAF: the database is the bill
    small["workloads"][0] = {**small["workloads"][0], "peak_rps": 20, "avg_rps": 5,
                             "egress_gb_per_month": 20}
    result = assess(small, catalog())
    # 6 GiB: about $150-330 a month, over 60% of each option
    assert all(database_machines(o, "ledger-db") < ASSUMED_DATABASE_WARN_USD
               and database_machines(o, "ledger-db") > 0.6 * o.monthly_cost_usd
               for o in result.options)
    assert not warnings_about(result, "ledger-db")
    # the figures follow the data: 900 GB, 90 GiB
    (warning,) = warnings_about(assess(ledger(storage_gb=900), catalog()), "ledger-db")
    assert re.search(r"so 90 GiB and 11\.25 vCPUs were assumed \(a tenth of its 900 GB", warning)
