"""The pure, CPU-bound steps of a run, as functions an engine process can compute.

A run's graph (``agents.graph``) hands these to its ``offload`` (a thread by default; an
engine process of ``kit.compute`` in a worker or an API process running runs), so the
event loop that serves requests and writes progress never holds the GIL for them.
Arguments and results are plain data (dicts, lists, ``Figures``, a ``Catalog``, the path
of a snapshot or None), so they pickle; this module imports only the engine and the number
guard, so an engine process does not load the agents' graph, providers or database code.

Profile of one run of ``examples/saas-startup.yaml`` (offline, before this split): the
number guard's ``figures_of`` over the result, once per agent (five times, about 7 ms
each, although an offline writer never reads it), then the engine (5 to 50 ms, more for
assessments with many regions), were the CPU a run spent outside database and
checkpoint I/O; the offline templates and result validation take under 0.2 ms an agent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import infra_mind.engine.assess as engine_assess
from infra_mind.agents.numbers import Figures, figures_of
from infra_mind.catalog.store import Catalog, default_catalog


def assessed(requirements: dict[str, Any], catalog: Catalog | Path | None, with_figures: bool
             ) -> tuple[dict[str, Any], Figures | None]:
    """The engine's result as JSON, and its figures for the number guard when a model
    will write (``with_figures``): computed where the result is, so it crosses between
    processes once. ``catalog``: a loaded one, or the snapshot to load here, once per
    process (the ``INFRA_MIND_CATALOG`` setting; None: the default)."""
    result_json = engine_assess.assess(requirements, catalog).model_dump(mode="json")
    return result_json, figures_of(result_json) if with_figures else None


def result_figures(result_json: dict[str, Any]) -> Figures:
    """The figures of a result computed earlier (a run resumed from its checkpoint)."""
    return figures_of(result_json)


def loaded(catalog: Path | None) -> int:
    """Load the catalog runs will be assessed against (``catalog``: the snapshot, None for
    the default) in this engine process, with the engine's modules, before a run needs
    them; its number of prices."""
    return default_catalog(catalog).stats().rows
