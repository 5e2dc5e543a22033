"""Infra Mind: priced, explainable cloud architectures from business requirements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from infra_mind.catalog.store import Catalog
    from infra_mind.engine.requirements import Requirements
    from infra_mind.engine.result import AssessmentResult


def assess(requirements: dict[str, Any] | Requirements, catalog: Catalog | None = None
           ) -> AssessmentResult:
    """Assess requirements: see ``infra_mind.engine.assess.assess``."""
    from infra_mind.engine.assess import assess as _assess

    return _assess(requirements, catalog)
