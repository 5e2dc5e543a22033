"""``render_report``: an advice as the executive, technical or compliance report, in
Markdown, HTML or JSON. The CLI (``infra-mind report``) and the API both call it."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from infra_mind.reports import compliance, executive, technical
from infra_mind.reports.advice import Advice, read_advice
from infra_mind.reports.document import Report, Section
from infra_mind.reports.formats import ReportFormat, ReportKind
from infra_mind.reports.render_html import to_html
from infra_mind.reports.render_md import escape, to_markdown

_E = TypeVar("_E", bound=StrEnum)


BUILDERS: dict[ReportKind, Callable[[Advice], Report]] = {
    ReportKind.EXECUTIVE: executive.build,
    ReportKind.TECHNICAL: technical.build,
    ReportKind.COMPLIANCE: compliance.build,
}


def to_json(report: Report) -> str:
    """The report as JSON: the same sections as the other formats, numbers as numbers."""
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[ReportFormat, Callable[[Report], str]] = {
    ReportFormat.MD: to_markdown,
    ReportFormat.HTML: to_html,
    ReportFormat.JSON: to_json,
}


def parse_kind(kind: str) -> ReportKind:
    """The kind, or ``ValueError`` naming the kinds there are."""
    return _member(ReportKind, kind, "report kind")


def parse_format(fmt: str) -> ReportFormat:
    """The format, or ``ValueError`` naming the formats there are."""
    return _member(ReportFormat, fmt, "report format")


def _member(choices: type[_E], value: str, what: str) -> _E:
    """``value`` as a member of ``choices``; the error names every member, for a user who
    typed one on the command line or in a URL."""
    try:
        return choices(value)
    except ValueError:
        raise ValueError(f"unknown {what} {value!r} (expected one of: "
                         f"{', '.join(choices)})") from None


def build_report(advice: Any, kind: str) -> Report:
    """The structured report (what every format renders); ``ValueError`` on a bad kind or
    an advice that is not a result."""
    report_kind = parse_kind(kind)
    return BUILDERS[report_kind](read_advice(advice))


def render_report(advice: dict[str, Any], kind: str, fmt: str) -> str:
    """The ``kind`` report of ``advice`` in ``fmt`` (``md``, ``html`` or ``json``).

    Every figure is read from the advice; narrative sections are included when present.
    Raises ``ValueError`` (one line) for an unknown kind or format, or an advice that is
    not an assessment result.
    """
    report_kind, report_format = parse_kind(kind), parse_format(fmt)
    return RENDERERS[report_format](build_report(advice, report_kind))


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "kind": report.kind,
        "title": report.title,
        "subtitle": report.subtitle,
        "assessment": {"name": report.name, "catalog_as_of": report.catalog_as_of},
        "notes": list(report.notes),
        "sections": [_section_dict(s) for s in report.sections],
        "footer": {
            "catalog_as_of": report.footer.catalog_as_of,
            "llm_usage": None if report.footer.usage is None else {
                "requests": report.footer.usage.requests,
                "tokens": report.footer.usage.tokens,
                "cost_usd": report.footer.usage.cost_usd,
                "unpriced_requests": report.footer.usage.unpriced_requests},
            "offline_sections": list(report.footer.offline_sections),
        },
    }


def _section_dict(section: Section) -> dict[str, Any]:
    """``markdown`` holds the section's text in reading order (the engine's text escaped,
    the agent's as written); ``table`` its table, numbers as numbers, with each column's
    kind (``money``, ``price``, ``count``, ...) so a client can format them."""
    out: dict[str, Any] = {"key": section.key, "title": section.title}
    text = [escape(p) for p in section.paragraphs]
    if section.markdown:
        text.append(section.markdown)
    if section.bullets:
        text.append("\n".join(f"- {escape(b)}" for b in section.bullets))
    if text:
        out["markdown"] = "\n\n".join(text)
    if section.table is not None:
        out["table"] = {"columns": [c.name for c in section.table.columns],
                        "kinds": [c.kind for c in section.table.columns],
                        "rows": [list(row) for row in section.table.rows]}
    return out


_SLUG = re.compile(r"[^a-z0-9]+")


def report_filename(advice: dict[str, Any], kind: str, fmt: str) -> str:
    """``<slug of the requirements' name>-<kind>.<ext>``, safe in a header and on disk."""
    requirements = advice.get("requirements")
    name = str(requirements.get("name") or "") if isinstance(requirements, dict) else ""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _SLUG.sub("-", ascii_name.lower()).strip("-")[:60].strip("-") or "assessment"
    return f"{slug}-{parse_kind(kind)}.{parse_format(fmt)}"
