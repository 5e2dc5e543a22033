"""Every example assesses cleanly: a recommendation that meets its constraints, sensible
numbers, and the shapes each scenario is about."""

from pathlib import Path

import pytest
import yaml

from infra_mind.engine.assess import assess

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def results():
    return {p.stem: assess(yaml.safe_load(p.read_text())) for p in EXAMPLES}


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES])
def test_example_has_a_sound_recommendation(results, name):
    r = results[name]
    rec = r.recommended
    assert rec is not None
    chosen = next(o for o in r.options if (o.provider, o.region) == (rec.provider, rec.region))
    assert chosen.constraints_met and not chosen.violations
    assert chosen.monthly_cost_usd > 0
    assert chosen.monthly_cost_usd == pytest.approx(
        sum(li.monthly_usd for li in chosen.line_items), abs=0.011)
    assert len(r.projection) == r.requirements.business.horizon_months
    workloads = {w.name for w in r.requirements.workloads}
    priced = {li.workload for li in chosen.line_items}
    assert workloads <= priced, f"unpriced workloads: {workloads - priced}"


def test_hipaa_telehealth_stays_in_the_us_and_spans_zones(results):
    r = results["hipaa-telehealth"]
    assert {o.region for o in r.options} <= {"us-east-1", "us-east-2", "us-west-1", "us-west-2",
                                            "eastus", "eastus2", "centralus", "westus2",
                                            "us-central1", "us-east1", "us-east4", "us-west2"}
    assert {c.framework for c in r.compliance} == {"hipaa"}
    api = [li for li in r.options[0].line_items if li.workload == "video-visit-api"]
    assert api[0].quantity >= 2 * 730


def test_eu_fintech_is_in_the_eu_with_three_zones(results):
    r = results["eu-fintech"]
    from infra_mind.catalog.regions import region
    assert all(region(o.provider, o.region).group == "eu" for o in r.options)
    rec = r.recommended
    chosen = next(o for o in r.options if o.provider == rec.provider)
    api = [li for li in chosen.line_items if li.unit == "hour"
           and li.component == "app servers"]
    assert api[0].quantity >= 3 * 730  # 99.99: three zones
    assert {c.framework for c in r.compliance} == {"pci_dss", "gdpr"}


def test_llm_inference_uses_gpus_that_fit_the_model(results):
    r = results["llm-inference"]
    gpu_lines = [li for o in r.options for li in o.line_items
                 if li.component == "inference GPUs"]
    assert gpu_lines and all(li.quantity >= 2 * 730 for li in gpu_lines)


def test_fine_tuning_is_priced_in_gpu_hours_on_spot(results):
    r = results["model-fine-tuning"]
    rec = r.recommended
    chosen = next(o for o in r.options if o.provider == rec.provider)
    (train,) = [li for li in chosen.line_items if li.component == "training GPUs"]
    assert 0 < train.quantity < 730 * 50
    assert "FLOPs" in train.note
    assert train.purchase_option == "spot"  # spot_ok, and training is interruptible


def test_static_site_is_small(results):
    r = results["static-site"]
    assert r.recommended.monthly_cost_usd < 100
    assert [o.provider for o in r.options] == ["aws"]
