"""What a narrative section is: who writes it, the task given to a model, and the two
functions of the engine's result that give its facts and its offline text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from infra_mind.engine.result import AssessmentResult


@dataclass(frozen=True)
class SectionSpec:
    agent: str
    key: str
    instruction: str
    facts: Callable[[AssessmentResult], list[str]]
    offline: Callable[[AssessmentResult], str]
