"""The catalog CLI contract: checks and scripts rely on these outputs and exit codes."""

import json
import subprocess
import sys

import pytest

from infra_mind.cli.main import main

CONTRACT_KEYS = {"provider", "sku", "region", "unit", "price_usd", "purchase_option", "as_of",
                 "source", "attributes"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_price_json_contract(capsys):
    code, out, err = run(capsys, "catalog", "price", "aws", "m5.large", "--region", "us-east-1",
                         "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) >= CONTRACT_KEYS
    assert doc["price_usd"] == pytest.approx(0.096)
    assert doc["unit"] == "hour" and doc["purchase_option"] == "on_demand"
    assert doc["attributes"]["vcpu"] == 2 and doc["attributes"]["memory_gib"] == 8


def test_azure_arm_name_and_purchase_option(capsys):
    code, out, _ = run(capsys, "catalog", "price", "azure", "Standard_D2s_v5", "--region",
                       "eastus", "--purchase-option", "spot", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["sku"] == "Standard_D2s_v5" and doc["purchase_option"] == "spot"
    assert 0 < doc["price_usd"] < 0.096


def test_unknown_sku_is_one_line_naming_the_closest(capsys):
    code, out, err = run(capsys, "catalog", "price", "aws", "m5.lage", "--region", "us-east-1",
                         "--json")
    assert code == 3
    assert out == ""
    assert err.count("\n") == 1
    assert "m5.large" in err and "Traceback" not in err


@pytest.mark.parametrize("argv, code, fragment", [
    (["catalog", "price", "oracle", "x", "--region", "r"], 2, "'oracle' is not one of"),
    (["catalog", "price", "aws", "m5.large"], 2, "--region"),
    (["catalog", "price", "aws", "m5.large", "--region", "mars-1"], 3, "priced in:"),
    (["catalog", "price", "aws", "m5.large", "--region", "us-east-1", "-p", "forever"], 2,
     "forever"),
    (["catalog", "price", "aws", "m5.large", "--region", "us-east-1", "--attr", "oops"], 2,
     "KEY=VALUE"),
    (["catalog", "search", "--provider", "aws", "--region", "mars-1"], 3, "regions:"),
    (["catalog", "search", "--provider", "aws", "--region", "us-east-1", "--min-vcpu", "-1"], 2,
     "min-vcpu"),
])
def test_bad_input_is_one_line_and_exit_code(capsys, argv, code, fragment):
    got, _out, err = run(capsys, *argv)
    assert got == code
    assert fragment in err
    assert len(err.strip().splitlines()) == 1, err


def test_search_table_is_cheapest_first(capsys):
    code, out, _ = run(capsys, "catalog", "search", "--provider", "gcp", "--region",
                       "europe-west1", "--min-vcpu", "4", "--min-memory", "16", "--json")
    assert code == 0
    rows = json.loads(out)
    prices = [r["price_usd"] for r in rows]
    assert prices == sorted(prices) and len(rows) > 3
    assert all(r["attributes"]["vcpu"] >= 4 and r["attributes"]["memory_gib"] >= 16
               for r in rows)
    code, out, _ = run(capsys, "catalog", "search", "--provider", "gcp", "--region",
                       "europe-west1", "--min-vcpu", "4", "--min-memory", "16")
    assert code == 0 and "cheapest first" in out and rows[0]["sku"] in out


def test_search_gpu(capsys):
    code, out, _ = run(capsys, "catalog", "search", "--provider", "aws", "--region", "us-east-1",
                       "--gpu", "--min-gpu-memory", "40", "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows and all(r["attributes"]["gpu_memory_gib"] >= 40 for r in rows)


def test_stats(capsys):
    code, out, _ = run(capsys, "catalog", "stats", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["on_demand_compute_rows"] >= 1500
    assert set(doc["by_provider"]) == {"aws", "azure", "gcp"}
    assert doc["oldest_as_of"] <= doc["newest_as_of"]
    code, out, _ = run(capsys, "catalog", "stats")
    assert code == 0 and "oldest" in out and "eu-west-2" in out


def test_installed_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "infra_mind", "catalog", "price", "gcp",
                           "n2-standard-2", "--region", "us-central1", "--json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sku"] == "n2-standard-2"
    proc = subprocess.run([sys.executable, "-m", "infra_mind", "catalog", "price", "gcp",
                           "n9-standard-2", "--region", "us-central1"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr


def test_family_chooses_the_database_server_behind_a_vm_name(capsys):
    code, out, _ = run(capsys, "catalog", "price", "azure", "Standard_B2s", "--region", "eastus",
                       "--json")
    assert code == 0 and json.loads(out)["product_family"] == "compute"
    code, out, err = run(capsys, "catalog", "price", "azure", "Standard_B2s", "--region",
                         "eastus", "--family", "database", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["product_family"] == "database" and doc["attributes"]["engine"] == "mysql"


def test_tiered_price_prints_its_tiers(capsys):
    code, out, _ = run(capsys, "catalog", "price", "aws", "internet-egress", "--region",
                       "us-east-1", "--json")
    assert code == 0
    tiers = json.loads(out)["tiers"]
    assert len(tiers) >= 2
    assert [t["tier_start"] for t in tiers] == sorted(t["tier_start"] for t in tiers)
    assert tiers[-1]["tier_end"] is None


def test_a_derived_price_is_marked_and_carries_its_rule(capsys):
    # Azure NAT Gateway is listed for West Europe only; eastus is derived (rule R1)
    code, out, err = run(capsys, "catalog", "price", "azure", "azure-nat-gateway", "--region",
                         "eastus", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["basis"] == "derived"
    assert doc["rule"].startswith("region ratio, compute fallback: westeurope price 0.045")
    assert doc["source"].startswith("derived from: ")
    code, out, err = run(capsys, "catalog", "price", "azure", "azure-nat-gateway", "--region",
                         "eastus")
    assert code == 0, err
    assert "\u2248" in out and "region ratio" in out and "not a list price" in out


def test_a_list_price_says_list_and_has_no_rule(capsys):
    code, out, _ = run(capsys, "catalog", "price", "aws", "db.m6g.large", "--region",
                       "eu-west-1", "--attr", "engine=postgres", "--attr", "deployment=single",
                       "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["basis"] == "list" and "rule" not in doc
    assert doc["as_of"] and doc["source"].startswith("github.com/coroot/cloud-pricing@")
    code, out, _ = run(capsys, "catalog", "price", "aws", "db.m6g.large", "--region",
                       "eu-west-1", "--attr", "engine=postgres", "--attr", "deployment=single")
    assert "\u2248" not in out


def test_search_marks_derived_machine_prices(capsys):
    code, out, err = run(capsys, "catalog", "search", "--provider", "aws", "--region",
                         "eu-west-1", "--min-vcpu", "2", "-p", "reserved_1y", "--limit", "5")
    assert code == 0, err
    assert "\u2248" in out and "derived from list prices" in out


def test_stats_count_list_and_derived_rows(capsys):
    code, out, _ = run(capsys, "catalog", "stats", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["by_basis"]["list"] > 0 and doc["by_basis"]["derived"] > 0
    assert doc["by_basis"]["list"] + doc["by_basis"]["derived"] == doc["rows"]


def test_coverage_json_contract(capsys):
    """Scripts read these keys (tests/catalog/test_coverage_command.py checks the content)."""
    code, out, err = run(capsys, "catalog", "coverage", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"snapshot", "generated_at", "summary", "kinds", "not_core",
                        "empty_core", "cells"}
    assert set(doc["cells"][0]) == {"provider", "region", "kind", "core", "list", "derived",
                                    "empty", "oldest_as_of", "newest_as_of"}
    assert {"regions", "cells", "list_rows", "derived_rows", "empty_core_cells",
            "oldest_as_of", "oldest_price"} <= set(doc["summary"])


def test_refresh_says_how_to_accept_a_shrinking_region(capsys):
    from typer.testing import CliRunner

    from infra_mind.cli.main import app

    result = CliRunner().invoke(app, ["catalog", "refresh", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--allow-shrink" in result.output and "20%" in result.output
