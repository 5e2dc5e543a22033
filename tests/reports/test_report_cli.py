"""``infra-mind report``: writes the file (atomically) or stdout; every error is one line."""

from __future__ import annotations

import json

import pytest

from infra_mind.agents.narrative import SECTIONS
from infra_mind.cli.main import main
from tests.reports.conftest import EXAMPLES, OFFLINE, USAGE, advise, narrative
from tests.reports.helpers import html_section_ids, md_sections, md_table


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def advice_file(results, tmp_path):
    path = tmp_path / "advice.json"
    advice = advise(results["eu-fintech"], narrative(), USAGE)
    path.write_text(json.dumps(advice))
    return path, advice


# What each report must say, read from the advice JSON here rather than from the renderer:
# the recommended place and its monthly cost (formatted here), every workload of the
# recommended option, and the narrative sections the report is made of.

#: The narrative sections of each kind tested here, in the report's reading order.
NARRATIVE = {
    "technical": [("report_writer", "technical_overview"), ("cloud_engineer", "architecture"),
                  ("cloud_engineer", "sku_choices"), ("research", "catalog"),
                  ("mlops", "ml_platform")],
    "executive": [("cto", "executive_summary"), ("cto", "choice"), ("cto", "strategy"),
                  ("cto", "risks"), ("cto", "roadmap"), ("cto", "build_vs_buy"),
                  ("research", "alternatives")],
}


def dollars(amount: float) -> str:
    return f"${amount:,.2f}"


def recommended(advice: dict) -> dict:
    rec = advice["recommended"]
    return next(o for o in advice["options"]
                if (o["provider"], o["region"]) == (rec["provider"], rec["region"]))


def workloads(option: dict) -> list[str]:
    return sorted({li["workload"] for li in option["line_items"]})


def narrative_titles(kind: str) -> list[str]:
    return [SECTIONS[agent][key] for agent, key in NARRATIVE[kind]]


def check_markdown(text: str, advice: dict, kind: str) -> None:
    option = recommended(advice)
    assert text.startswith(f"# {advice['requirements']['name']}: {kind} report\n")
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert [h for h in headings if h in narrative_titles(kind)] == narrative_titles(kind)
    for agent, key in NARRATIVE[kind]:
        assert f"Text of **{agent}.{key}**." in text
    assert f"{option['region']} ({option['region_name']})" in text
    assert dollars(option["monthly_cost_usd"]) in text


def check_technical_markdown(text: str, advice: dict) -> None:
    check_markdown(text, advice, "technical")
    option = recommended(advice)
    sections = md_sections(text)
    architecture = " ".join(sections["Recommended architecture"])
    assert option["region"] in architecture
    assert f"total {dollars(option['monthly_cost_usd'])} a month" in architecture
    for workload in workloads(option):
        lines = sections[f"Workload {workload}"]
        subtotal = sum(li["monthly_usd"] for li in option["line_items"]
                       if li["workload"] == workload)
        assert dollars(subtotal) in lines[0]
        assert len(md_table(lines)) == sum(li["workload"] == workload
                                           for li in option["line_items"])


def check_technical_html(page: str, advice: dict) -> None:
    option = recommended(advice)
    assert page.startswith("<!DOCTYPE html>")
    assert f"<title>{advice['requirements']['name']}: technical report</title>" in page
    ids = html_section_ids(page)
    assert [i for i in ids if i.split(".")[0] in SECTIONS] == [
        f"{agent}.{key}" for agent, key in NARRATIVE["technical"]]
    for agent, key in NARRATIVE["technical"]:
        assert f"Text of <strong>{agent}.{key}</strong>." in page
    assert {i.removeprefix("workload.") for i in ids if i.startswith("workload.")} == set(
        workloads(option))
    assert option["region"] in page and dollars(option["monthly_cost_usd"]) in page


def check_technical_json(text: str, advice: dict) -> None:
    doc = json.loads(text)
    option = recommended(advice)
    assert doc["kind"] == "technical"
    assert doc["assessment"] == {"name": advice["requirements"]["name"],
                                 "catalog_as_of": advice["catalog_as_of"]}
    keys = [s["key"] for s in doc["sections"]]
    assert [k for k in keys if k.split(".")[0] in SECTIONS] == [
        f"{agent}.{key}" for agent, key in NARRATIVE["technical"]]
    assert {k.removeprefix("workload.") for k in keys if k.startswith("workload.")} == set(
        workloads(option))
    assert option["region"] in doc["subtitle"]
    providers = USAGE["providers"].values()
    assert doc["footer"]["llm_usage"] == {
        "requests": sum(p["requests"] for p in providers),
        "tokens": sum(p["input_tokens"] + p["output_tokens"] for p in providers),
        "cost_usd": round(sum(p["cost_usd"] for p in providers), 2),
        "unpriced_requests": 0}
    assert doc["footer"]["offline_sections"] == [
        SECTIONS[agent][key] for agent, key in NARRATIVE["technical"] if (agent, key) in OFFLINE]


CHECKS = {"md": check_technical_markdown, "html": check_technical_html,
          "json": check_technical_json}


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_writes_the_report_to_a_file(capsys, advice_file, tmp_path, fmt):
    path, advice = advice_file
    target = tmp_path / f"report.{fmt}"
    target.write_text("old")
    code, out, err = run(capsys, "report", path, "--kind", "technical", "--format", fmt,
                         "-o", target)
    assert (code, out, err) == (0, "", "")
    written = target.read_text()
    CHECKS[fmt](written, advice)
    # the file holds exactly what the same command prints without -o
    assert run(capsys, "report", path, "--kind", "technical", "--format", fmt) == (
        0, written, "")
    assert {p.name for p in tmp_path.iterdir()} == {"advice.json", f"report.{fmt}"}  # no temp


def test_prints_markdown_by_default(capsys, advice_file):
    path, advice = advice_file
    code, out, _ = run(capsys, "report", path, "-k", "executive")
    assert code == 0
    check_markdown(out, advice, "executive")
    sections = md_sections(out)
    rows = md_table(sections["Options side by side"])
    assert [(r["provider"], r["region"], r["monthly"]) for r in rows] == [
        (o["provider"], o["region"], dollars(o["monthly_cost_usd"]))
        for o in sorted(advice["options"], key=lambda o: o["rank"])]
    assert run(capsys, "report", path, "-k", "executive", "-f", "md") == (0, out, "")


def test_engine_result_from_assess(capsys, tmp_path):
    """What ``assess --format json`` prints is a valid input."""
    code, out, _ = run(capsys, "assess", EXAMPLES / "static-site.yaml", "-f", "json")
    assert code == 0
    result = tmp_path / "result.json"
    result.write_text(out)
    code, out, err = run(capsys, "report", result, "-k", "compliance", "-f", "json")
    assert code == 0, err
    assert json.loads(out)["kind"] == "compliance"


@pytest.mark.parametrize("argv, fragment", [
    (["-k", "board"], "error: unknown report kind 'board' (expected one of: executive, "
                      "technical, compliance)"),
    (["-k", "executive", "-f", "pdf"], "error: unknown report format 'pdf'"),
])
def test_bad_kind_or_format(capsys, advice_file, argv, fragment):
    path, _ = advice_file
    code, out, err = run(capsys, "report", path, *argv)
    assert code == 2 and out == ""
    assert err.startswith(fragment) and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, fragment", [
    (None, "no such file"),
    ("name: [yaml", "not valid JSON: line 1, column 1"),
    ("[1, 2]", "not an assessment result: expected a JSON object"),
    ('{"name": "x"}', "not an assessment result: requirements: Field required"),
    (b"\xff\xfe\x00", "cannot read"),
])
def test_bad_input_is_one_line(capsys, tmp_path, content, fragment):
    path = tmp_path / "in.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "report", path, "-k", "technical")
    assert code == 2 and out == ""
    assert fragment in err and err.startswith(f"error: {path}")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unwritable_output_is_one_line_and_leaves_nothing(capsys, advice_file, tmp_path):
    path, _ = advice_file
    code, _, err = run(capsys, "report", path, "-k", "technical", "-o",
                       tmp_path / "missing" / "r.md")
    assert code == 1 and "cannot write" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "missing").exists()
