"""``infra-mind assess`` and ``infra-mind schema``: the contract scripts rely on."""

import json
from pathlib import Path

import pytest

from infra_mind.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_the_result_dump(capsys):
    code, out, err = run(capsys, "assess", str(EXAMPLES / "saas-startup.yaml"), "--format",
                         "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["requirements"]["name"]
    assert doc["recommended"]["provider"] in {"aws", "azure", "gcp"}
    assert len(doc["projection"]) == doc["requirements"]["business"]["horizon_months"]


def test_table_and_markdown(capsys):
    code, out, _ = run(capsys, "assess", str(EXAMPLES / "hipaa-telehealth.yaml"))
    assert code == 0 and "Recommended:" in out and "line items" in out
    code, out, _ = run(capsys, "assess", str(EXAMPLES / "hipaa-telehealth.yaml"), "-f", "md")
    assert code == 0
    assert out.startswith("# ") and "## Options side by side" in out and "| **total** |" in out


def test_the_table_writes_money_one_way_and_lists_options_in_rank_order(capsys):
    """It printed "1,693.97 USD/month" and "Budget 1,500.00 USD/month: within (difference
    -988.49)"; now "$1,693.97" and "$988.49 under budget", and the options carry their rank."""
    doc_code, doc, _ = run(capsys, "assess", str(EXAMPLES / "saas-startup.yaml"), "-f", "json")
    result = json.loads(doc)
    code, out, _ = run(capsys, "assess", str(EXAMPLES / "saas-startup.yaml"))
    assert doc_code == code == 0
    assert "USD" not in out and "(difference" not in out and "$-" not in out and "-$" not in out
    gap = result["budget"]["gap_usd"]
    assert f"${abs(gap):,.2f} {'under' if gap < 0 else 'over'} budget" in out
    # its P90 passes the budget: when, and what grows the cost
    note = result["budget"]["passing_note"]
    assert "P90" in note and note in " ".join(out.split())
    ranked = [line for line in out.splitlines() if line.startswith("│")][:len(result["options"])]
    assert [line.split("│")[1].strip() for line in ranked] == [
        str(o["rank"]) for o in result["options"]] == [
        str(n) for n in range(1, len(result["options"]) + 1)]


def test_the_table_says_where_each_other_options_cost_differs(capsys):
    """As the reports and the web app do: "aws us-east-1: $47.96 more a month (7.5%); the
    largest differences: NAT $61.87 more; ..." """
    _, doc, _ = run(capsys, "assess", str(EXAMPLES / "saas-startup.yaml"), "-f", "json")
    result = json.loads(doc)
    code, out, _ = run(capsys, "assess", str(EXAMPLES / "saas-startup.yaml"))
    flat = " ".join(out.split())
    rec = result["recommended"]
    assert code == 0 and f"Against {rec['provider']} {rec['region']}:" in flat
    for a in rec["alternatives"]:
        change = f"${abs(a['delta_usd']):,.2f} {'more' if a['delta_usd'] > 0 else 'less'}"
        assert (f"- {a['provider']} {a['region']}: {change} a month "
                f"({abs(a['delta_pct']):g}%); the largest differences: "
                f"{' '.join(a['differences_text'].split())}") in flat


def test_bad_input_is_one_line_per_problem_naming_the_field(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\n"
        "availability_target: 98\n"
        "workloads:\n"
        "  - {name: api, type: web_service, peak_rps: -5, cpu_ms: 20}\n"
        "  - {name: q, type: queue}\n")
    code, out, err = run(capsys, "assess", str(bad), "--format", "json")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert "error: availability_target: Input should be 99.0, 99.5, 99.9, 99.95 or 99.99" \
        in lines
    assert "error: workloads[0].peak_rps: Input should be greater than 0" in lines
    assert "error: workloads[0].cpu_ms: unknown field (not part of the requirements schema)" \
        in lines
    assert any(line.startswith("error: workloads[1]: unknown workload type") for line in lines)
    assert len(lines) == 4 and "Traceback" not in err


@pytest.mark.parametrize("content, fragment", [
    ("name: [unclosed", "not valid YAML: line 1"),
    ("- just\n- a list\n", "expected a mapping"),
])
def test_unreadable_files(capsys, tmp_path, content, fragment):
    path = tmp_path / "r.yaml"
    path.write_text(content)
    code, _, err = run(capsys, "assess", str(path))
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


def test_missing_file_and_json_input(capsys, tmp_path):
    code, _, err = run(capsys, "assess", str(tmp_path / "nope.yaml"))
    assert code == 2 and "no such file" in err
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"name": "j", "workloads": [
        {"name": "site", "type": "static_site", "egress_gb_per_month": 10}]}))
    code, out, err = run(capsys, "assess", str(path), "-f", "json")
    assert code == 0, err
    assert json.loads(out)["options"]


def test_schema_is_the_requirements_json_schema(capsys):
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["additionalProperties"] is False
    assert {"name", "business", "compliance", "data_residency", "availability_target",
            "preferences", "workloads"} <= set(schema["properties"])


def test_derived_prices_are_marked_in_the_table_and_the_markdown(capsys):
    """A derived price (basis: derived) was printed like a list price; now "≈" marks it in
    both outputs, and a legend says where its rule is. eu-fintech's AWS option prices NAT
    in eu-north-1 by the region-ratio rule (no dated list price outside us-east-1/-2)."""
    _, doc, _ = run(capsys, "assess", str(EXAMPLES / "eu-fintech.yaml"), "-f", "json")
    result = json.loads(doc)
    rec = result["recommended"]
    chosen = next(o for o in result["options"]
                  if (o["provider"], o["region"]) == (rec["provider"], rec["region"]))
    derived = [li for li in chosen["line_items"] if li["price_basis"] == "derived"]
    assert derived, "precondition: the recommended option uses a derived price"
    assert all("derived price" in li["note"] for li in derived)  # the rule travels in JSON
    for fmt in ("table", "md"):
        _, out, _ = run(capsys, "assess", str(EXAMPLES / "eu-fintech.yaml"), "-f", fmt)
        lines = out.splitlines()
        for li in chosen["line_items"]:
            row = next(line for line in lines if li["component"] in line and li["sku"] in line)
            assert ("≈$" in row) == (li["price_basis"] == "derived"), (fmt, row)
        assert "≈ derived from list prices" in out


def test_with_shares_of_the_users_the_table_gives_the_average_users_round_trip(capsys):
    code, out, _ = run(capsys, "assess", str(EXAMPLES / "llm-inference.yaml"))
    assert code == 0 and "avg user RTT" in out
    assert "Users in the EU (70%) and the US (30%): " in " ".join(out.split())
    code, out, _ = run(capsys, "assess", str(EXAMPLES / "saas-startup.yaml"))
    assert code == 0 and "user RTT" in out and "avg user RTT" not in out
