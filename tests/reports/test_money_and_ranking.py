"""Reports write money one way and show the options in the order the engine ranked them.

"$-988.49", "-$5.00", "within (difference -988.49)" and "USD 1,693.97" each appeared in
some report or brief; every format now reads "$1,693.97" and "$988.49 under budget".
"""

from __future__ import annotations

import pytest

from infra_mind.engine.money import budget_position, usd
from infra_mind.engine.result import AssessmentResult
from infra_mind.reports.brief import markdown_brief
from infra_mind.reports.render import render_report
from tests.factories import CRAFT_SHOP, lecture_platform
from tests.reports.conftest import NAMES, advise, requirements, result_json
from tests.reports.helpers import md_sections, md_table

SIGNED = ("$-", "-$", "−$", "USD", "(difference")
#: An example with a budget (its position is said) and one with frameworks (its gaps).
BUDGETED = ("saas-startup", "eu-fintech", "azure-enterprise")


@pytest.fixture(scope="module")
def budgeted():
    return {name: result_json(requirements(name)) for name in BUDGETED}


@pytest.mark.parametrize("kind", ["executive", "technical", "compliance"])
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_no_report_writes_a_sign_or_a_currency_code(results, budgeted, kind, fmt):
    for result in [*results.values(), *budgeted.values()]:
        text = render_report(advise(result), kind, fmt)
        assert not [s for s in SIGNED if s in text], (kind, fmt)


@pytest.mark.parametrize("name", BUDGETED)
def test_the_budget_is_a_position_in_words(budgeted, name):
    result = budgeted[name]
    position = budget_position(result["recommended"]["monthly_cost_usd"],
                               result["budget"]["monthly_budget_usd"])
    assert position.endswith(("under budget", "over budget", "on budget"))
    executive = md_sections(render_report(advise(result), "executive", "md"))
    assert position in " ".join(executive["Budget"])
    brief = markdown_brief(AssessmentResult.model_validate(result))
    assert position in brief
    assert not [s for s in SIGNED if s in brief]


@pytest.mark.parametrize("name", [*NAMES, *BUDGETED])
def test_the_options_table_is_the_ranking(results, budgeted, name):
    result = {**results, **budgeted}[name]
    sections = md_sections(render_report(advise(result), "executive", "md"))
    rows = md_table(sections["Options side by side"])
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    assert [(r["provider"], r["region"]) for r in rows] == [
        (o["provider"], o["region"]) for o in result["options"]]
    first = rows[0]
    rec = result["recommended"]
    assert (first["provider"], first["region"]) == (rec["provider"], rec["region"])
    # the columns read in the ranking's order: constraints, gaps, then cost
    columns = list(first)
    assert columns.index("constraints met") < columns.index("compliance gaps") < \
        columns.index("monthly")
    assert any(p.startswith("Best first, ranked by ") for p in sections["Options side by side"])
    # the users' round trip: the average user's where the requirements give shares
    rtt = ("average user round trip ms" if result["region_choice"]["user_shares"]
           else "user round trip ms")
    assert rtt in columns
    assert [None if r[rtt] == "—" else float(r[rtt]) for r in rows] == [
        o["user_rtt_ms"] for o in result["options"]]


def test_every_gap_says_what_its_remediation_costs(results):
    result = results["hipaa-telehealth"]
    rows = md_table(md_sections(render_report(advise(result), "compliance", "md"))["Controls"])
    gaps = [r for r in rows if r["status"] == "gap"]
    assert gaps
    for row in gaps:
        cost = row["remediation cost"]
        assert cost.startswith(("priced", "adds a running cost", "configuration only")), row
        if cost.startswith("priced"):
            assert row["remediation monthly"].startswith("$")


def test_the_technical_report_marks_each_derived_price(results):
    """Line items showed a derived price like a list price; the technical report now has a
    price-basis column: "≈ derived" (its rule in the note) or "list", in every format."""
    import json

    from infra_mind.reports.render import render_report
    from infra_mind.reports.technical import DERIVED_BASIS

    result = results["eu-fintech"]
    rec = result["recommended"]
    chosen = next(o for o in result["options"]
                  if (o["provider"], o["region"]) == (rec["provider"], rec["region"]))
    derived = [li for li in chosen["line_items"] if li["price_basis"] == "derived"]
    assert derived, "precondition: the recommended option uses a derived price"
    md = render_report(result, "technical", "md")
    for li in chosen["line_items"]:
        row = next(line for line in md.splitlines()
                   if line.startswith("|") and li["sku"] in line and li["component"] in line)
        assert (DERIVED_BASIS in row) == (li["price_basis"] == "derived"), row
    doc = json.loads(render_report(result, "technical", "json"))
    cells = json.dumps(doc, ensure_ascii=False)
    assert cells.count(DERIVED_BASIS) >= len(derived)


def test_over_budget_the_executive_report_lists_the_levers():
    req = requirements("saas-startup")
    req["business"] = {**req["business"], "monthly_budget_usd": 150}
    result = result_json(req)
    levers = result["budget"]["levers"]
    assert len(levers) > 1
    for fmt in ("md", "html"):
        assert not [s for s in SIGNED if s in render_report(advise(result), "executive", fmt)]
    budget = md_sections(render_report(advise(result), "executive", "md"))["Budget"]
    rows = md_table(budget)
    assert [r["change"] for r in rows] == [lv["change"] for lv in levers]
    for row, lever in zip(rows, levers, strict=True):
        assert row["monthly"] == usd(lever["monthly_cost_usd"])
        assert row["saving"] == usd(lever["saving_usd"])
        assert row["gives up"] == lever["gives_up"]
    together = result["budget"]["levers_together_usd"]
    assert f"All of them at once (not a 1-year commitment on the machines that run all " \
           f"month): {usd(together)} a month" in " ".join(budget)
    assert [r["budget"] for r in rows] == ["over budget now"] * len(rows)
    # the markdown brief (assess --format md) lists them too, one line each
    brief = markdown_brief(AssessmentResult.model_validate(result))
    for lever in levers:
        assert (f"- {lever['change']}: {usd(lever['monthly_cost_usd'])} a month "
                f"({usd(lever['saving_usd'])} less, over budget now") in brief
    assert "All of them at once (not a 1-year commitment" in brief
    assert not [s for s in SIGNED if s in brief]


def test_commitment_figures_say_what_they_are_measured_against(budgeted):
    # eu-fintech asks for a 1-year commitment: its design is already partly committed, so
    # "reserved_1y $X (saves $Y)" read beside a lower total looked like a dearer option
    committed = budgeted["eu-fintech"]
    rec = committed["options"][0]
    (line,) = [x for x in markdown_brief(AssessmentResult.model_validate(committed))
               .splitlines() if x.startswith("Commitments")]
    base = rec["commitment"][0]["monthly_usd"]
    assert base > rec["monthly_cost_usd"]
    assert line.startswith(f"Commitments, each against every machine on demand ({usd(base)}; "
                           "the design above, on the purchase terms it uses, costs "
                           f"{usd(rec['monthly_cost_usd'])}): ")
    executive = md_sections(render_report(advise(committed), "executive", "md"))
    assert (f"on the purchase terms it uses, costs {usd(rec['monthly_cost_usd'])} a month"
            in " ".join(executive["Commitment savings"]))
    # all on demand: the base is the design's own total, said once
    on_demand = budgeted["saas-startup"]
    (line,) = [x for x in markdown_brief(AssessmentResult.model_validate(on_demand))
               .splitlines() if x.startswith("Commitments")]
    total = on_demand["options"][0]["monthly_cost_usd"]
    assert line.startswith(f"Commitments, each against every machine on demand ({usd(total)}): ")


def test_the_subtitle_counts_options_in_words():
    one = requirements("saas-startup")
    one["preferences"] = {**one.get("preferences", {}), "providers": ["aws"]}
    text = render_report(advise(result_json(one)), "executive", "md")
    assert "_Executive report: 1 option priced on aws_" in text


def test_a_line_within_a_free_allowance_says_so_in_the_brief():
    # a UK sports club's 20 GB through CloudFront sit in its free 1 TB: the line read
    # "0.00 GB" with nothing to say why
    club = {"name": "club", "users": ["uk"], "availability_target": 99.0,
            "preferences": {"providers": ["aws"]},
            "workloads": [{"name": "site", "type": "static_site", "storage_gb": 1,
                           "egress_gb_per_month": 20}]}
    brief = markdown_brief(AssessmentResult.model_validate(result_json(club)))
    (line,) = [x for x in brief.splitlines() if "| CDN data transfer |" in x]
    assert "| 0.00 GB (free allowance) |" in line


def test_the_cheapest_option_named_in_the_budget_says_why_it_is_not_the_recommendation():
    # the craft shop is in London; its Stockholm region is cheaper and was passed over for
    # being farther from the UK users: the executive report had named it with no reason
    result = result_json(CRAFT_SHOP)
    cheapest = result["budget"]["cheapest_compliant"]
    assert (cheapest["provider"], cheapest["region"]) == ("aws", "eu-north-1")
    assert result["recommended"]["region"] == "eu-west-2"
    budget = " ".join(md_sections(render_report(advise(result), "executive", "md"))["Budget"])
    assert (f"AWS eu-north-1, {usd(cheapest['monthly_cost_usd'])} a month "
            f"({cheapest['why_not'][0]})") in budget.replace("\\~", "~")
    assert "eu-west-2 is nearer the users" in cheapest["why_not"][0]


def test_reports_name_the_provider_as_a_reader_knows_it(results, budgeted):
    """"AZURE northeurope" and "GCP asia-south1" headed the brief and the reports: the
    providers are written Azure, AWS and Google Cloud, as the agents write them."""
    names = {"aws": "AWS", "azure": "Azure", "gcp": "Google Cloud"}
    for result in [*results.values(), *budgeted.values()]:
        rec = result["recommended"]
        named = f"{names[rec['provider']]} {rec['region']}"
        brief = markdown_brief(AssessmentResult.model_validate(result))
        assert f"**Recommendation: {named}, " in brief
        assert f"## {named}: line items" in brief
        for kind in ("executive", "technical", "compliance"):
            text = render_report(advise(result), kind, "md")
            assert named in text, kind
            assert not {"AZURE", "GCP"} & set(text.replace("|", " ").split()), kind


def test_the_executive_budget_says_when_the_budget_is_passed_and_what_grows_the_cost():
    # the lectures' CDN transfer grows the bill past $4,000 within months
    result = result_json(lecture_platform(4000))
    note = result["budget"]["passing_note"]
    assert note.startswith("With the stated growth the projected cost passes the budget in "
                           "month ") and "the largest part is CDN data transfer ($" in note
    budget = " ".join(md_sections(render_report(advise(result), "executive", "md"))["Budget"])
    assert f"under budget. {note}" in budget
    assert f"under budget. {note}" in markdown_brief(AssessmentResult.model_validate(result))


@pytest.mark.parametrize("name", BUDGETED)
def test_each_alternative_says_where_its_cost_differs(budgeted, name):
    """"AWS costs $1,268.65 more a month" left a CTO asking where (2026-12-07): the options
    section and the brief name the largest differences by part."""
    result = budgeted[name]
    rec = result["recommended"]
    executive = " ".join(md_sections(render_report(advise(result), "executive", "md"))[
        "Options side by side"])
    brief = markdown_brief(AssessmentResult.model_validate(result))
    assert rec["alternatives"]
    for a in rec["alternatives"]:
        assert a["differences_text"]
        said = f"; the largest differences: {a['differences_text']}"
        assert said in executive and said in brief

