"""What PromQL in the deploy artefacts refers to, and what the product exposes.

Not a PromQL parser: enough of one to list each selector's metric name and label matchers
(``promtool`` checks the syntax itself, in ``test_alert_rules.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
SRC = ROOT / "src" / "infra_mind"

#: Grafana's variables, replaced by a duration so the expression is PromQL.
GRAFANA_VARIABLES = ("$__rate_interval", "$__range", "$__interval")
#: Labels every scraped series may carry besides its own.
TARGET_LABELS = {"job", "instance"}
_IDENT = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
             "group_left", "group_right", "inf", "nan"}


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[tuple[str, str, str], ...]  # (label, operator, value)


def as_promql(expr: str) -> str:
    for variable in GRAFANA_VARIABLES:
        expr = expr.replace(variable, "5m")
    return expr


def selectors(expr: str) -> list[Selector]:
    """Every series selector of ``expr``: its metric name and label matchers."""
    expr = as_promql(expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # ranges and subqueries
    found: list[Selector] = []

    def braced(match: re.Match[str]) -> str:
        matchers = tuple(re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', match.group(2)))
        found.append(Selector(match.group(1) or "", matchers))
        return " "

    expr = re.sub(rf"({_IDENT})?\s*\{{([^}}]*)\}}", braced, expr)
    expr = re.sub(r'"[^"]*"', " ", expr)
    for name in re.findall(rf"(?<![\w.:])({_IDENT})(?![\w:]|\s*\()", expr):
        if name not in _KEYWORDS:
            found.append(Selector(name, ()))
    return found


@lru_cache(maxsize=1)
def product_metrics() -> dict[str, frozenset[str]]:
    """{exposed series name: its label names}, read off a fresh ``Metrics()`` registry, as
    a process with a near cache exposes it (without one, ``near_cache_listening`` is
    absent)."""
    from prometheus_client.metrics import MetricWrapperBase

    from infra_mind.observability.metrics import Metrics

    metrics = Metrics()
    metrics.near_cache.source = lambda: (0, 0, False)
    labels = {m._name: frozenset(m._labelnames) for m in vars(metrics).values()
              if isinstance(m, MetricWrapperBase)}
    exposed: dict[str, frozenset[str]] = {}
    for family in metrics.registry.collect():
        # a custom collector's families (the near cache's): their samples' labels
        own = labels[family.name] if family.name in labels else frozenset(
            name for sample in family.samples for name in sample.labels)
        if family.type == "counter":
            exposed[f"{family.name}_total"] = own
        elif family.type == "histogram":
            exposed[f"{family.name}_bucket"] = own | {"le"}
            exposed[f"{family.name}_count"] = own
            exposed[f"{family.name}_sum"] = own
        else:
            exposed[family.name] = own
    return exposed


@lru_cache(maxsize=1)
def recording_rules() -> frozenset[str]:
    doc = yaml.safe_load(ALERTS.read_text())
    return frozenset(rule["record"] for group in doc["groups"] for rule in group["rules"]
                     if "record" in rule)


@lru_cache(maxsize=1)
def source_literals() -> frozenset[str]:
    """Every quoted string of the product's source: the label values it can emit."""
    text = "\n".join(p.read_text() for p in SRC.rglob("*.py"))
    return frozenset(re.findall(r"""["']([A-Za-z0-9_./{}-]+)["']""", text))


def unknown_references(expr: str, allowed_external: frozenset[str] = frozenset()) -> list[str]:
    """What ``expr`` names that the product does not expose: metric names, label names of
    product metrics, and label values the product's source never writes."""
    problems: list[str] = []
    exposed = product_metrics()
    literals = source_literals()
    for selector in selectors(expr):
        name = selector.metric
        if name in recording_rules() or name in allowed_external:
            continue
        if name not in exposed:
            problems.append(f"metric {name!r}")
            continue
        for label, operator, value in selector.matchers:
            if label not in exposed[name] | TARGET_LABELS:
                problems.append(f"label {label!r} of {name}")
            elif label in TARGET_LABELS or operator.startswith("!") or label == "route":
                continue
            for alternative in value.split("|"):
                if not re.fullmatch(r"[A-Za-z_]+", alternative):
                    continue  # a pattern (5.., .+/events) or a number (503)
                if alternative not in literals:
                    problems.append(f"{name}{{{label}={alternative!r}}}: the product never "
                                    "writes that value")
    return problems
