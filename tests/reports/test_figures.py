"""Every figure in a report is the result's: the Markdown tables read back, number by number,
and the JSON tables hold the same numbers as numbers."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from infra_mind.reports.render import render_report
from tests.reports.conftest import NAMES, advise, narrative
from tests.reports.helpers import md_sections, md_table, money, plain

CENT = 0.005


def _recommended(result):
    rec = result["recommended"]
    return next(o for o in result["options"]
                if (o["provider"], o["region"]) == (rec["provider"], rec["region"]))


@pytest.mark.parametrize("name", NAMES)
def test_executive_figures(results, name):
    result = results[name]
    sections = md_sections(render_report(advise(result, narrative()), "executive", "md"))
    rec = result["recommended"]
    assert f"${rec['monthly_cost_usd']:,.2f} a month." in sections["Recommendation"][0]
    for reason in rec["reasons"]:
        assert f"- {reason}" in [line.replace("\\", "") for line in sections["Recommendation"]]
    options = md_table(sections["Options side by side"])
    assert [(r["provider"], r["region"]) for r in options] == [
        (o["provider"], o["region"]) for o in result["options"]]
    for row, option in zip(options, result["options"], strict=True):
        assert money(row["monthly"]) == option["monthly_cost_usd"]
        assert int(row["compliance gaps"]) == option["compliance_gaps"]
        assert row["constraints met"] == ("yes" if option["constraints_met"] else "no")
    first, last = result["projection"][0], result["projection"][-1]
    projection = md_table(sections["Cost projection"])
    assert [(int(r["month"]), money(r["monthly"]), money(r["P10"]), money(r["P90"]))
            for r in projection] == [(m["month"], m["monthly_cost_usd"], m["p10"], m["p90"])
                                     for m in (first, last)]
    commitment = md_table(sections["Commitment savings"])
    for row, c in zip(commitment, _recommended(result)["commitment"], strict=True):
        assert row["purchase option"] == c["purchase_option"]
        assert (money(row["monthly"]), money(row["savings"])) == (c["monthly_usd"],
                                                                  c["savings_usd"])
        assert plain(row["savings %"]) == c["savings_pct"]
    budget = result["budget"]
    if budget["monthly_budget_usd"] is not None:
        text = " ".join(sections["Budget"])
        assert f"${budget['monthly_budget_usd']:,.2f}" in text
        assert f"${abs(budget['gap_usd']):,.2f}" in text


@pytest.mark.parametrize("name", NAMES)
def test_technical_line_items_subtotals_and_total(results, name):
    result = results[name]
    sections = md_sections(render_report(advise(result), "technical", "md"))
    option = _recommended(result)
    assert f"total ${option['monthly_cost_usd']:,.2f} a month." in \
        sections["Recommended architecture"][0]
    by_workload: dict[str, list[dict]] = {}
    for li in option["line_items"]:
        by_workload.setdefault(li["workload"], []).append(li)
    summary = md_table(sections["Recommended architecture"])
    assert [r["workload"] for r in summary] == list(by_workload)
    for row in summary:
        items = by_workload[row["workload"]]
        assert int(row["line items"]) == len(items)
        assert money(row["monthly"]) == pytest.approx(sum(li["monthly_usd"] for li in items),
                                                      abs=CENT)
    assert sum(money(r["monthly"]) for r in summary) == pytest.approx(
        option["monthly_cost_usd"], abs=0.011)
    for workload, items in by_workload.items():
        rows = md_table(sections[f"Workload {workload}"])
        assert len(rows) == len(items)
        for row, li in zip(rows, items, strict=True):
            assert (row["component"], row["service"], row["SKU"], row["unit"]) == (
                li["component"], li["service"], li["sku"], li["unit"])
            assert plain(row["quantity"]) == li["quantity"]
            assert money(row["unit price"]) == li["unit_price_usd"]
            assert money(row["monthly"]) == li["monthly_usd"]
            assert (row["purchase option"], row["source"], row["as of"]) == (
                li["purchase_option"], li["source"], li["as_of"])
    others = md_table(sections["Other options"])
    expected = [o for o in result["options"] if o is not option]
    assert [(r["provider"], money(r["monthly"]), int(r["line items"])) for r in others] == [
        (o["provider"], o["monthly_cost_usd"], len(o["line_items"])) for o in expected]


@pytest.mark.parametrize("name", NAMES)
def test_technical_sizing_review_and_warnings(results, name):
    result = results[name]
    sections = md_sections(render_report(advise(result), "technical", "md"))
    for demand in result["demand"]:
        lines = sections[f"Sizing: {demand['workload']} ({demand['type']})"]
        resources = {r["resource"]: plain(r["value"]) for r in md_table(lines)}
        assert resources == {k: v for k, v in demand["resources"].items()
                             if not isinstance(v, str | bool)}
        unescaped = [line.replace("\\", "") for line in lines]
        for trace in demand["trace"]:
            assert f"- {trace}" in unescaped
    review = md_table(sections["Well-Architected review"])
    assert [(r["pillar"], r["risk"]) for r in review] == [
        (p["pillar"].replace("_", " "), p["risk"]) for p in result["review"]]
    if result["warnings"]:
        assert len([line for line in sections["Warnings"] if line.startswith("- ")]) == \
            len(result["warnings"])
    else:
        assert "Warnings" not in sections


@pytest.mark.parametrize("name", ["hipaa-telehealth", "eu-fintech"])
def test_compliance_controls_and_counts(results, name):
    result = results[name]
    sections = md_sections(render_report(advise(result), "compliance", "md"))
    controls = md_table(sections["Controls"])
    assert len(controls) == len(result["compliance"])
    for row, c in zip(controls, result["compliance"], strict=True):
        assert (row["framework"], row["id"], row["reference"], row["control"], row["status"],
                row["evidence"]) == (c["framework"], c["control_id"], c["reference"],
                                     c["title"], c["status"], c["evidence"])
        if c["remediation_monthly_usd"] is None:
            assert row["remediation monthly"] == "—"
        else:
            assert money(row["remediation monthly"]) == c["remediation_monthly_usd"]
    counts = Counter((c["framework"], c["status"]) for c in result["compliance"])
    for row in md_table(sections["Summary"]):
        for status in ("met", "gap", "customer"):
            assert int(row[status]) == counts[(row["framework"], status)]


def test_no_framework_requested(results):
    doc = json.loads(render_report(advise(results["model-fine-tuning"]), "compliance", "json"))
    assert [s["key"] for s in doc["sections"]] == ["summary"]
    assert "No compliance framework was requested" in doc["sections"][0]["markdown"]


@pytest.mark.parametrize("kind", ["executive", "technical", "compliance"])
def test_json_tables_hold_numbers_and_match_markdown(results, kind):
    result = results["eu-fintech"]
    doc = json.loads(render_report(advise(result), kind, "json"))
    sections = md_sections(render_report(advise(result), kind, "md"))
    for section in doc["sections"]:
        table = section.get("table")
        if table is None:
            continue
        rows = md_table(sections[section["title"]])
        assert len(rows) == len(table["rows"])
        for md_row, row in zip(rows, table["rows"], strict=True):
            for column, kind_, value in zip(table["columns"], table["kinds"], row,
                                            strict=True):
                cell = md_row[column]
                if value is None:
                    assert cell == "—"
                elif kind_ in ("money", "price"):
                    assert isinstance(value, int | float) and money(cell) == value
                elif kind_ in ("count", "number", "percent"):
                    assert isinstance(value, int | float) and plain(cell) == value
                elif kind_ == "bool":
                    assert cell == ("yes" if value else "no")
                else:
                    assert cell == " ".join(str(value).split())
    if kind == "technical":
        option = _recommended(result)
        first = next(s for s in doc["sections"] if s["key"].startswith("workload."))
        li = next(li for li in option["line_items"]
                  if f"workload.{li['workload']}" == first["key"])
        assert first["table"]["rows"][0][3:7] == [li["quantity"], li["unit"],
                                                  li["unit_price_usd"], li["monthly_usd"]]
