"""Reading an advice for the reports: the engine's result, typed, and its narrative.

An advice is an ``AssessmentResult`` as JSON, optionally with ``narrative`` and
``llm_usage`` (see ``agents.narrative``). The result part is validated against
``AssessmentResult``, so a report reads typed figures and a file that is not a result
fails with one line instead of a half-written report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from infra_mind.agents.narrative import SECTIONS, section
from infra_mind.engine.result import AssessmentResult, Option
from infra_mind.reports.document import Footer, Report, Section, UsageTotals

#: Said once in a report that lacks any of its narrative sections.
NARRATIVE_MISSING = "Narrative sections were not generated for this result."

#: Keys an advice adds to a result.
ADVICE_KEYS = ("narrative", "llm_usage")


@dataclass(frozen=True)
class Advice:
    result: AssessmentResult
    narrative: dict[str, Any] | None = None
    llm_usage: dict[str, Any] | None = None

    @property
    def recommended_option(self) -> Option | None:
        """The option the recommendation names, or None when nothing could be priced."""
        rec = self.result.recommended
        if rec is None:
            return None
        return next((o for o in self.result.options
                     if o.provider == rec.provider and o.region == rec.region), None)


def read_advice(advice: Any) -> Advice:
    """The advice typed; ``ValueError`` (one line) when it is not a result."""
    if not isinstance(advice, Mapping):
        raise ValueError("not an assessment result: expected a JSON object")
    fields = {k: v for k, v in advice.items() if k not in ADVICE_KEYS}
    try:
        result = AssessmentResult.model_validate(fields)
    except ValidationError as exc:
        raise ValueError(f"not an assessment result: {_first_problem(exc)}") from None
    narrative = advice.get("narrative")
    _check_narrative(narrative)
    usage = advice.get("llm_usage")
    if usage is not None and not isinstance(usage, dict):
        raise ValueError("not an advice: 'llm_usage' must be an object")
    return Advice(result=result, narrative=narrative or None, llm_usage=usage or None)


def _check_narrative(narrative: Any) -> None:
    """The shape ``{agent: {key: {"markdown": str, ...}}}``; the Markdown itself is
    untrusted text and is checked by nobody here."""
    if narrative is None:
        return
    if not isinstance(narrative, dict):
        raise ValueError("not an advice: 'narrative' must be an object")
    for agent, sections in narrative.items():
        if not isinstance(sections, dict):
            raise ValueError(f"not an advice: narrative.{agent} must be an object")
        for key, entry in sections.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("markdown", ""), str):
                raise ValueError(f"not an advice: narrative.{agent}.{key} must be an object "
                                 "with Markdown text")


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


@dataclass
class Narrative:
    """The narrative sections one report asks for, remembering which were missing and
    which the offline writer wrote (both go into the report, not into any section)."""

    narrative: dict[str, Any] | None
    missing: bool = False
    offline: list[str] = field(default_factory=list)

    def section(self, agent: str, key: str, *, optional: bool = False) -> Section | None:
        """The section as a report section; None when absent. A required absent section
        makes the report say ``NARRATIVE_MISSING``; an optional one (e.g. ``mlops``, which
        runs only for ML workloads) is left out silently."""
        title = SECTIONS[agent][key]
        markdown = section(self.narrative, agent, key)
        if not markdown or not markdown.strip():
            self.missing = self.missing or not optional
            return None
        if self.narrative and self.narrative[agent][key].get("author") == "offline":
            self.offline.append(title)
        return Section(key=f"{agent}.{key}", title=title,
                       markdown=markdown.lstrip("\n").rstrip())  # keep an indented start

    def sections(self, wanted: Iterable[tuple[str, str]]) -> list[Section]:
        """The required sections of ``wanted`` that are present, in order."""
        return [s for agent, key in wanted if (s := self.section(agent, key)) is not None]


def usage_totals(llm_usage: Mapping[str, Any] | None) -> UsageTotals | None:
    """Requests, tokens and cost over every provider.

    ``agents.writer.usage_of`` writes ``{"total", "providers", "agents"}``; ``total`` is
    read when there, else the providers' figures are summed (per-agent figures repeat
    them). A bare totals object (``requests``, ``input_tokens``/``output_tokens`` or
    ``tokens``, ``cost_usd``) is accepted too.
    """
    if not llm_usage:
        return None
    for key in ("total", "totals"):
        if isinstance(llm_usage.get(key), Mapping):
            return _totals([llm_usage[key]])
    if "requests" in llm_usage:
        return _totals([llm_usage])
    providers = llm_usage.get("providers")
    if isinstance(providers, Mapping):
        return _totals(v for v in providers.values() if isinstance(v, Mapping))
    return None


def _totals(entries: Iterable[Mapping[str, Any]]) -> UsageTotals:
    requests = tokens = unpriced = 0
    cost = 0.0
    for e in entries:
        requests += int(e.get("requests") or 0)
        unpriced += int(e.get("unpriced_requests") or 0)
        tokens += int(e.get("tokens") or
                      (int(e.get("input_tokens") or 0) + int(e.get("output_tokens") or 0)))
        cost += float(e.get("cost_usd") or 0.0)
    return UsageTotals(requests=requests, tokens=tokens, cost_usd=round(cost, 6),
                       unpriced_requests=unpriced)


def assemble(advice: Advice, narrative: Narrative, *, kind: str, title: str, subtitle: str,
             sections: Iterable[Section | None]) -> Report:
    """The report: its sections (None dropped), the narrative note and the footer."""
    result = advice.result
    as_of = result.catalog_as_of.isoformat()
    return Report(
        kind=kind, title=f"{result.requirements.name}: {title}", subtitle=subtitle,
        name=result.requirements.name, catalog_as_of=as_of,
        sections=tuple(s for s in sections if s is not None),
        notes=(NARRATIVE_MISSING,) if narrative.missing else (),
        footer=Footer(catalog_as_of=as_of, usage=usage_totals(advice.llm_usage),
                      offline_sections=tuple(narrative.offline)))
