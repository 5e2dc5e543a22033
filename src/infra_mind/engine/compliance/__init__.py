"""Compliance: the control catalog (one YAML file per framework) and its evaluator."""

from infra_mind.engine.compliance.catalog import (
    COST_KEYS,
    Control,
    all_frameworks,
    load_controls,
)
from infra_mind.engine.compliance.evaluate import count_gaps, evaluate, gap_count

__all__ = ["COST_KEYS", "Control", "all_frameworks", "count_gaps", "evaluate", "gap_count",
           "load_controls"]
