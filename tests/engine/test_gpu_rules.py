"""GPUs: workers may ask for them, inference concurrency by Little's law with the KV cache
on the average context, multi-node training only on interconnect-class machines (issue #12,
item 6).

Before: ``workloads[0].gpu: unknown field`` for a video-transcoding worker; an 8B int8 model
sized its KV cache as if every concurrent request held the full context (2 x g5.12xlarge,
$8,281 a month); a 70B model trained on 27 single-GPU g6e.xlarge over ordinary networking
at 40% model FLOPs utilisation.
"""

import pytest

from infra_mind.catalog.model import PurchaseOption
from infra_mind.engine.gpus import interconnect_of
from infra_mind.engine.ml import choose_inference, choose_training
from infra_mind.engine.requirements import MlInference, MlTraining
from infra_mind.engine.sizing import kv_bytes_per_token, size_inference, size_training
from tests.engine.rows import catalog, design, gpu, lines, network, requirements

GPUS = catalog(
    gpu("g4dn.xlarge", 1, "T4", 16, 0.526, vcpu=4),
    gpu("g6.xlarge", 1, "L4", 24, 0.8048, vcpu=4),
    gpu("g5.xlarge", 1, "A10G", 24, 1.006, vcpu=4),
    gpu("g5.12xlarge", 4, "A10G", 24, 5.672, vcpu=48),
    gpu("g6e.xlarge", 1, "L40S", 48, 1.861, vcpu=4),
    gpu("g6e.12xlarge", 4, "L40S", 48, 10.493, vcpu=48),
    gpu("p4d.24xlarge", 8, "A100", 40, 21.957642, vcpu=96),
    gpu("p5.48xlarge", 8, "H100", 80, 55.04, vcpu=192),
    network())

TRANSCODER = {"type": "worker", "vcpu": 8, "memory_gb": 32, "interruptible": False,
              "gpu": {"count": 2, "memory_gb": 16, "model": "T4", "hours_per_month": 300}}


def test_a_worker_gets_gpu_machines_for_its_hours():
    d = design(GPUS, requirements(TRANSCODER))
    (li,) = lines(d, "GPU workers")
    # two T4s: two g4dn.xlarge (one GPU, 4 vCPU each) for 300 hours
    assert li.sku == "g4dn.xlarge" and li.quantity == pytest.approx(2 * 300)
    assert li.monthly_usd == pytest.approx(600 * 0.526, abs=0.01)
    (pl,) = [pl for pl in d.lines if pl.item.component == "GPU workers"]
    assert pl.always_on_hours == 0  # part of the month: no commitment can cover it
    assert pl.part.cost(6, 3.0) == pl.part.cost(1, 1.0)  # a fixed-size worker


def test_gpu_machines_keep_memory_for_their_operating_system():
    # two 64 GiB machines leave 127.5 GiB: a worker asking 128 in total takes three
    # (a GPU batch's 32 GB had sat on two 16 GB g2-standard-4, nothing left for the OS)
    d = design(GPUS, requirements({**TRANSCODER, "memory_gb": 128}))
    (li,) = lines(d, "GPU workers")
    assert li.sku == "g4dn.xlarge" and li.quantity == pytest.approx(3 * 300)
    assert "ceil(128 GiB / 63.75 after 0.25 GiB for the operating system)" in li.note
    d = design(GPUS, requirements({**TRANSCODER, "memory_gb": 127.5}))
    (li,) = lines(d, "GPU workers")
    assert li.quantity == pytest.approx(2 * 300)


def test_a_gpu_model_no_machine_has_is_a_violation():
    req = requirements({**TRANSCODER, "gpu": {"model": "H200"}})
    d = design(GPUS, req)
    assert d.violations and "H200" in d.violations[0]
    assert any("GPU workers" in u for u in d.unpriced)


def copilot(**over):
    fields = {"model_params_b": 8, "peak_tokens_per_sec": 2000, "precision": "int8",
              "context_tokens": 8192, "avg_prompt_tokens": 1500, "avg_output_tokens": 300}
    return MlInference(name="llm", type="ml_inference", **{**fields, **over})


RETRAIN = {"type": "worker", "vcpu": 32, "memory_gb": 256, "interruptible": False,
           "gpu": {"count": 8, "memory_gb": 40, "model": "A100", "hours_per_month": 72}}
SINGLE_A100 = gpu("a100.single", 1, "A100", 40, 2.5, vcpu=12)


def test_gpus_that_must_share_a_machine_are_priced_on_one():
    # 8 single-A100 machines cost less than one 8-GPU p4d, and train nothing across them
    cat = catalog(SINGLE_A100, gpu("p4d.24xlarge", 8, "A100", 40, 21.957642, vcpu=96),
                  network())
    split = design(cat, requirements(RETRAIN))
    (li,) = lines(split, "GPU workers")
    assert (li.sku, li.quantity) == ("a100.single", 8 * 72)
    (warning,) = [w for w in split.warnings if "gpu.per_machine" in w]
    assert warning.startswith("w0: its 8 GPUs are priced on machines of 1 GPU (a100.single), "
                              "as gpu.per_machine is not stated.")
    together = design(cat, requirements({**RETRAIN, "gpu": {**RETRAIN["gpu"],
                                                            "per_machine": 8}}))
    (li,) = lines(together, "GPU workers")
    assert (li.sku, li.quantity) == ("p4d.24xlarge", 72)
    assert li.note.endswith("; 8 GPUs to a machine, as asked")
    assert not [w for w in together.warnings if "gpu.per_machine" in w]
    # stated as independent jobs: split, and nothing to warn of
    apart = design(cat, requirements({**RETRAIN, "gpu": {**RETRAIN["gpu"], "per_machine": 1}}))
    assert lines(apart, "GPU workers")[0].sku == "a100.single" and not apart.warnings
    # no machine holds them together: a violation that says what was asked
    alone = design(catalog(SINGLE_A100, network()),
                   requirements({**RETRAIN, "gpu": {**RETRAIN["gpu"], "per_machine": 8}}))
    assert alone.violations == ["w0: no priced GPU machine in aws us-east-1 has 8 GPU(s) with "
                                ">= 40 GB (A100), 8 to a machine"]


def test_per_machine_must_divide_the_gpu_count():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"gpu.count \(8\) must be a multiple of "
                                              r"gpu.per_machine \(3\)"):
        requirements({**RETRAIN, "gpu": {**RETRAIN["gpu"], "per_machine": 3}})


def test_concurrency_follows_littles_law_and_the_kv_cache_the_average_context():
    d = size_inference(copilot(tokens_per_sec_per_request=30), 99.9)
    # 2,000 tokens/s / 30 tokens/s a request = 66.7 -> 67 requests in flight
    assert d.resources["concurrent_requests"] == 67
    assert d.resources["avg_context_tokens"] == 1500 + 300 / 2
    per_token = kv_bytes_per_token(8)[0]
    full_context_for_all = per_token * 8192 * 67 / 1e9
    assert d.resources["kv_gb"] == pytest.approx(per_token * (8192 + 66 * 1650) / 1e9,
                                                 rel=1e-3)
    assert d.resources["kv_gb"] < full_context_for_all / 3


def test_an_8b_int8_model_serves_from_single_gpu_replicas():
    d = size_inference(copilot(tokens_per_sec_per_request=30), 99.9)
    row, hours, note, _ = choose_inference(GPUS, "aws", "us-east-1", d,
                                           PurchaseOption.ON_DEMAND)
    assert row.attributes["gpu_count"] == 1, note
    assert hours * row.price_usd < 2 * 730 * 5.672  # the old 2 x g5.12xlarge
    assert "replica on 1 GPU(s)" in note


def test_one_request_at_the_full_context_must_fit_a_replica():
    # 120k tokens x 150 kB = 18 GB of KV for one request: with 8 GB of weights no 24-GiB
    # GPU holds it, however short the average request
    d = size_inference(copilot(context_tokens=120_000), 99.0)
    row, _, note, _ = choose_inference(GPUS, "aws", "us-east-1", d, PurchaseOption.ON_DEMAND)
    width = int(note.split("replica on ")[1].split(" ")[0])
    assert width * row.attributes["gpu_memory_gib"] > 24, note


def test_the_stream_speed_bounds_the_batch():
    slow, fast = (size_inference(copilot(tokens_per_sec_per_request=s), 99.0)
                  for s in (10, 60))
    rows = {s: choose_inference(GPUS, "aws", "us-east-1", d, PurchaseOption.ON_DEMAND)
            for s, d in ((10, slow), (60, fast))}
    # streaming faster each needs more bandwidth per request: more (or faster) GPUs
    assert rows[60][1] * rows[60][0].price_usd > rows[10][1] * rows[10][0].price_usd


def test_multi_node_training_only_on_interconnect_class_machines():
    d = size_training(MlTraining(name="t", type="ml_training", model_params_b=70,
                                 tokens_b_per_run=20, runs_per_month=1), spot_ok=False)
    row, _, note, _ = choose_training(GPUS, "aws", "us-east-1", d, PurchaseOption.ON_DEMAND)
    assert row.sku in ("p4d.24xlarge", "p5.48xlarge"), row.sku
    assert "nodes joined by NVSwitch" in note
    commodity = catalog(gpu("g6e.xlarge", 1, "L40S", 48, 1.861),
                        gpu("g6e.12xlarge", 4, "L40S", 48, 10.493))
    assert choose_training(commodity, "aws", "us-east-1", d, PurchaseOption.ON_DEMAND) is None


def test_a_model_that_fits_one_machine_trains_on_any_gpu():
    d = size_training(MlTraining(name="t", type="ml_training", model_params_b=1,
                                 tokens_b_per_run=1), spot_ok=False)
    row, *_ = choose_training(GPUS, "aws", "us-east-1", d, PurchaseOption.ON_DEMAND)
    assert interconnect_of(row.sku) is None  # 19 GiB of state: one L40S machine is cheapest


@pytest.mark.parametrize(("sku", "interconnect"), [
    ("p5.48xlarge", True), ("p4d.24xlarge", True), ("Standard_ND96isr_H100_v5", True),
    ("a3-highgpu-8g", True), ("g6e.48xlarge", False), ("g5.12xlarge", False),
    ("Standard_NC24ads_A100_v4", False), ("a2-highgpu-1g", False)])
def test_interconnect_class_by_sku(sku, interconnect):
    assert (interconnect_of(sku) is not None) is interconnect
