"""Every workload kind has its entry wherever the code needs one.

The registry (``engine.workloads.KINDS``) must match the requirements models, and each
kind, taken alone from an example that has it, must go through sizing, design, the
agents' sections and the reports: a kind added to the requirements but forgotten in one
of them fails here (and ``assert_never`` in ``size_all`` and ``design_option`` names the
missing case to mypy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from infra_mind.agents.sections import SPECS, has_ml
from infra_mind.engine.assess import assess
from infra_mind.engine.load import parse_requirements
from infra_mind.engine.requirements import Requirements, Workload
from infra_mind.engine.result import AssessmentResult
from infra_mind.engine.sizing import size_all
from infra_mind.engine.workloads import KINDS, ML_KINDS, WorkloadKind, facts_of
from infra_mind.reports.render import ReportKind, render_report

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def _type_of(model: type) -> str:
    """The ``type`` a requirements model's discriminator accepts."""
    (value,) = get_args(model.model_fields["type"].annotation)
    return str(value)


def one_workload_requirements(kind: WorkloadKind) -> dict[str, Any]:
    """The first example with a workload of ``kind``, cut down to that workload."""
    for path in EXAMPLES:
        document = yaml.safe_load(path.read_text())
        for workload in document["workloads"]:
            if workload["type"] == kind:
                return document | {
                    "name": f"{path.stem}: {workload['name']} alone",
                    "workloads": [workload],
                }
    pytest.fail(f"no example in examples/ has a {kind} workload: add one")


@pytest.fixture(scope="module", params=list(WorkloadKind), ids=str)
def alone(request: pytest.FixtureRequest) -> tuple[WorkloadKind, Requirements, AssessmentResult]:
    """Each kind's one-workload requirements and its assessment."""
    kind = request.param
    req = parse_requirements(one_workload_requirements(kind))
    return kind, req, assess(req)


def test_the_registry_has_every_kind_of_the_requirements_and_no_other():
    models = get_args(get_args(Workload)[0])
    assert {_type_of(m) for m in models} == {k.value for k in WorkloadKind}
    assert set(KINDS) == set(WorkloadKind)
    for kind, facts in KINDS.items():
        assert facts.model in models and _type_of(facts.model) == kind
        assert facts.label.strip()


def test_an_unknown_type_is_refused_naming_every_kind():
    with pytest.raises(Exception) as refused:
        parse_requirements({"name": "x", "workloads": [{"name": "a", "type": "mainframe"}]})
    assert all(kind.value in str(refused.value) for kind in WorkloadKind)


def test_each_kind_is_sized_as_itself(alone):
    kind, req, _ = alone
    (demand,) = size_all(req)
    assert demand.type is kind and demand.workload == req.workloads[0].name
    assert demand.resources and demand.trace


def test_each_kind_is_designed_and_priced(alone):
    kind, req, result = alone
    rec = result.recommended
    assert rec is not None, f"{kind}: no recommendation"
    chosen = next(o for o in result.options if (o.provider, o.region) == (rec.provider, rec.region))
    name = req.workloads[0].name
    assert any(li.workload == name and li.monthly_usd > 0 for li in chosen.line_items), (
        f"{kind}: {name} has no priced line in the recommended option"
    )


def test_each_kind_is_written_about_by_every_agent(alone):
    kind, req, result = alone
    name = req.workloads[0].name
    assert has_ml(result) is (kind in ML_KINDS)
    for (agent, key), spec in SPECS.items():
        # the MLOps view is written only when there is an ML workload
        assert spec.facts(result) or (agent == "mlops" and kind not in ML_KINDS), (
            f"{kind}: {agent}.{key} has no facts"
        )
        assert spec.offline(result).strip(), f"{kind}: {agent}.{key} is empty"
    # the roadmap brings every workload up in one phase; the ML view names its workloads
    assert name in SPECS["cto", "roadmap"].offline(result)
    ml_text = SPECS["mlops", "ml_platform"].offline(result)
    assert (f"**{name}** ({facts_of(kind).label})" in ml_text) is (kind in ML_KINDS)


@pytest.mark.parametrize("report", list(ReportKind))
def test_each_kind_goes_into_every_report(alone, report):
    kind, req, result = alone
    text = render_report(result.model_dump(mode="json"), report, "md")
    assert text.strip()
    if report is ReportKind.TECHNICAL:
        assert f"Sizing: {req.workloads[0].name} ({kind})" in text
