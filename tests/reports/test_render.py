"""``render_report``: the three kinds in the three formats, from real engine results."""

from __future__ import annotations

import json
import re

import pytest
from markdown_it import MarkdownIt

from infra_mind.agents.narrative import SECTIONS
from infra_mind.reports.advice import NARRATIVE_MISSING
from infra_mind.reports.render import render_report
from tests.reports.conftest import NAMES, USAGE, advise, narrative
from tests.reports.helpers import html_section_ids, md_sections

KINDS = ("executive", "technical", "compliance")
FORMATS = ("md", "html", "json")
AGENT_PREFIXES = tuple(f"{agent}." for agent in SECTIONS)


def _json(advice, kind):
    return json.loads(render_report(advice, kind, "json"))


@pytest.mark.parametrize("with_narrative", [False, True], ids=["engine-only", "narrative"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NAMES)
def test_the_three_formats_have_the_same_sections(results, name, kind, with_narrative):
    advice = advise(results[name], narrative() if with_narrative else None,
                    USAGE if with_narrative else None)
    doc = _json(advice, kind)
    keys = [s["key"] for s in doc["sections"]]
    titles = [s["title"] for s in doc["sections"]]
    assert keys and len(set(keys)) == len(keys)
    md = render_report(advice, kind, "md")
    assert list(md_sections(md)) == titles
    page = render_report(advice, kind, "html")
    assert html_section_ids(page) == keys
    assert doc["kind"] == kind and doc["assessment"] == {
        "name": results[name]["requirements"]["name"],
        "catalog_as_of": results[name]["catalog_as_of"]}
    assert doc["title"] in md and doc["title"] in page.replace("&#x27;", "'")
    for section in doc["sections"]:
        assert "markdown" in section or "table" in section, section["key"]


@pytest.mark.parametrize("kind", KINDS)
def test_without_a_narrative_the_report_says_so_once(results, kind):
    advice = advise(results["hipaa-telehealth"])
    doc = _json(advice, kind)
    assert doc["notes"] == [NARRATIVE_MISSING]
    assert not [s for s in doc["sections"] if s["key"].startswith(AGENT_PREFIXES)]
    assert render_report(advice, kind, "md").count(NARRATIVE_MISSING) == 1
    assert render_report(advice, kind, "html").count(NARRATIVE_MISSING) == 1
    assert doc["footer"] == {"catalog_as_of": results["hipaa-telehealth"]["catalog_as_of"],
                             "llm_usage": None, "offline_sections": []}


def test_executive_narrative_in_reading_order_with_usage_and_offline_sections(results):
    advice = advise(results["llm-inference"], narrative(), USAGE)
    doc = _json(advice, "executive")
    keys = [s["key"] for s in doc["sections"]]
    assert keys == ["cto.executive_summary", "recommendation", "options", "budget",
                    "projection", "commitment", "cto.choice", "cto.strategy", "cto.risks",
                    "cto.roadmap", "cto.build_vs_buy", "research.alternatives"]
    assert doc["notes"] == []
    summary = doc["sections"][0]
    assert summary["title"] == "Executive summary"
    assert summary["markdown"].startswith("Text of **cto.executive_summary**.")
    # per-agent figures repeat the providers' and are not added twice
    assert doc["footer"]["llm_usage"] == {"requests": 9, "tokens": 13000, "cost_usd": 0.05,
                                          "unpriced_requests": 0}
    assert doc["footer"]["offline_sections"] == ["Risks"]
    md = render_report(advice, "executive", "md")
    assert "Language models: 9 requests, 13,000 tokens, $0.05." in md
    assert "Written by the offline writer (no model): Risks." in md
    assert NARRATIVE_MISSING not in md


def test_technical_has_ml_platform_only_when_written(results):
    ml = _json(advise(results["llm-inference"], narrative()), "technical")
    keys = [s["key"] for s in ml["sections"]]
    assert keys[:5] == ["report_writer.technical_overview", "cloud_engineer.architecture",
                        "cloud_engineer.sku_choices", "research.catalog", "mlops.ml_platform"]
    assert ml["footer"]["offline_sections"] == ["Technical overview"]
    # no ML workloads, so no mlops section: optional, and no "not generated" note
    plain = _json(advise(results["hipaa-telehealth"],
                         narrative(skip=frozenset({("mlops", "ml_platform")}))), "technical")
    assert "mlops.ml_platform" not in [s["key"] for s in plain["sections"]]
    assert plain["notes"] == []


def test_a_missing_required_section_is_left_out_and_noted(results):
    advice = advise(results["eu-fintech"], narrative(skip=frozenset({("cto", "roadmap")})))
    executive = _json(advice, "executive")
    assert "cto.roadmap" not in [s["key"] for s in executive["sections"]]
    assert executive["notes"] == [NARRATIVE_MISSING]
    assert _json(advice, "compliance")["notes"] == []
    compliance = [s["key"] for s in _json(advice, "compliance")["sections"]]
    assert compliance == ["report_writer.compliance_overview", "compliance.gaps",
                          "compliance.remediation_plan", "summary", "controls"]


def test_blank_sections_count_as_absent(results):
    advice = advise(results["eu-fintech"], narrative({"cto": {"risks": "   \n"}}))
    doc = _json(advice, "executive")
    assert "cto.risks" not in [s["key"] for s in doc["sections"]]
    assert doc["notes"] == [NARRATIVE_MISSING]


ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "main", "footer",
                "section", "div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li",
                "table", "thead", "tbody", "tr", "th", "td", "strong", "em", "a", "code",
                "pre", "blockquote", "hr", "br"}
HOSTILE_NAME = "<script>alert('name')</script> Corp"
HOSTILE_MARKDOWN = "\n\n".join([
    "<script>alert('narrative')</script>",
    "[click](javascript:alert(1)) and [vb](vbscript:msgbox) and [ok](https://example.com)",
    "![pixel](https://evil.example/p.png)",
    '<img src="x" onerror="alert(2)">',
    "# Heading in a section",
    "| a | b |\n|---|---|\n| <b>1</b> | 2 |",
])


@pytest.fixture(scope="module")
def hostile(results):
    """A result whose requirements' name and a workload's name carry HTML, with a
    narrative full of it."""
    from tests.reports.conftest import requirements, result_json

    req = requirements("hipaa-telehealth")
    req["name"] = HOSTILE_NAME
    req["workloads"][0]["name"] = "<b onmouseover=x>api</b>"
    result = result_json(req)
    return advise(result, narrative({"cto": {"executive_summary": HOSTILE_MARKDOWN},
                                     "report_writer": {"technical_overview": HOSTILE_MARKDOWN},
                                     "compliance": {"gaps": HOSTILE_MARKDOWN}}))


@pytest.mark.parametrize("kind", KINDS)
def test_html_escapes_names_and_narrative(hostile, kind):
    page = render_report(hostile, kind, "html")
    lowered = page.lower()
    assert "<script" not in lowered and "<img" not in lowered
    assert "<b>" not in lowered and "<b " not in lowered
    assert '&lt;img src="x" onerror="alert(2)"&gt;' in page.replace("&quot;", '"')
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt; Corp" in page
    assert "&lt;script&gt;alert('narrative')&lt;/script&gt;" in page
    # markdown-it refuses the unsafe links (left as text) and keeps the safe one
    assert "javascript:" not in lowered.replace("[click](javascript:alert(1))", "")
    assert 'href="javascript' not in lowered and 'href="vbscript' not in lowered
    assert "[click](javascript:alert(1))" in page
    assert '<a href="https://example.com">ok</a>' in page
    # self-contained: only these elements, none that loads anything or runs a handler
    tags = re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>", page)
    assert {name for name, _ in tags} <= ALLOWED_TAGS
    for _, attributes in tags:
        names = re.sub(r'"[^"]*"', '""', attributes)  # attribute names, values blanked
        assert not re.search(r"\b(on\w+|src|srcset|style)\s*=", names), attributes
    assert '<meta charset="utf-8">' in page and "<style>" in page
    assert "<h3>Heading in a section</h3>" in page
    assert "<td>&lt;b&gt;1&lt;/b&gt;</td>" in page


def test_markdown_escapes_engine_text(hostile):
    """The engine's and the user's text cannot turn into Markup where the Markdown is
    rendered, even by a renderer that lets raw HTML through."""
    advice = {k: v for k, v in hostile.items() if k != "narrative"}
    for kind in KINDS:
        md = render_report(advice, kind, "md")
        rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
        assert "<script" not in rendered and "<b " not in rendered
        assert "&lt;script&gt;alert('name')&lt;/script&gt; Corp" in rendered


def test_json_keeps_text_verbatim(hostile):
    doc = _json(hostile, "executive")
    assert doc["assessment"]["name"] == HOSTILE_NAME
    assert doc["sections"][0]["markdown"] == HOSTILE_MARKDOWN


@pytest.mark.parametrize("kind, fmt, message", [
    ("board", "md", "unknown report kind 'board' (expected one of: executive, technical, "
                    "compliance)"),
    ("executive", "pdf", "unknown report format 'pdf' (expected one of: md, html, json)"),
])
def test_unknown_kind_or_format(results, kind, fmt, message):
    with pytest.raises(ValueError) as info:
        render_report(results["hipaa-telehealth"], kind, fmt)
    assert str(info.value) == message


@pytest.mark.parametrize("advice, fragment", [
    ([], "not an assessment result: expected a JSON object"),
    ({"name": "x"}, "not an assessment result: requirements: Field required"),
])
def test_not_a_result(advice, fragment):
    with pytest.raises(ValueError) as info:
        render_report(advice, "executive", "md")
    assert str(info.value).startswith(fragment) and "\n" not in str(info.value)


@pytest.mark.parametrize("narrative_, fragment", [
    ([], "'narrative' must be an object"),
    ({"cto": []}, "narrative.cto must be an object"),
    ({"cto": {"risks": {"markdown": 5}}}, "narrative.cto.risks must be an object"),
])
def test_malformed_narrative(results, narrative_, fragment):
    advice = advise(results["hipaa-telehealth"], narrative_)
    with pytest.raises(ValueError, match=fragment):
        render_report(advice, "executive", "md")
