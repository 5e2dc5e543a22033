"""Every sizing formula, checked with numbers worked out by hand."""

import math

import pytest

from infra_mind.engine.requirements import (
    Cache,
    Database,
    MlInference,
    MlTraining,
    ObjectStorage,
    WebService,
    Worker,
)
from infra_mind.engine.sizing import (
    database_ha,
    kv_bytes_per_token,
    min_instances,
    size_cache,
    size_database,
    size_inference,
    size_object_storage,
    size_training,
    size_web_service,
    size_worker,
)


@pytest.mark.parametrize("target, n", [(99.0, 1), (99.5, 1), (99.9, 2), (99.95, 2),
                                       (99.99, 3)])
def test_min_instances_by_availability(target, n):
    assert min_instances(target) == n
    assert database_ha(target) is (target >= 99.9)


def test_web_service_cpu_at_target_utilisation():
    w = WebService(name="api", type="web_service", peak_rps=250, avg_rps=80,
                   cpu_ms_per_request=40, memory_gb=2)
    d = size_web_service(w, 99.95)
    # 250 req/s x 0.040 s = 10 busy vCPU; at 60% utilisation 16.67 vCPU
    assert d.resources["vcpu"] == pytest.approx(250 * 40 / 1000 / 0.6, rel=1e-4)
    assert d.resources["vcpu_avg"] == pytest.approx(80 * 40 / 1000 / 0.6, rel=1e-4)
    assert d.resources["instances_min"] == 2
    assert "250 x 40 / 1000 / 0.6 = 16.67" in d.trace[0]


def test_web_service_average_defaults_to_a_third_of_peak():
    d = size_web_service(WebService(name="a", type="web_service", peak_rps=90), 99.0)
    assert d.resources["avg_rps"] == 30
    assert "peak / 3" in d.trace[1]


def test_worker_from_vcpu_hours_and_spot_rule():
    w = Worker(name="w", type="worker", vcpu_hours_per_month=1460, memory_gb=8,
               interruptible=True)
    assert size_worker(w, spot_ok=True).resources == {
        "vcpu": 2.0, "memory_gib": 8, "spot": True, "interruptible": True,
        "follows_traffic": False, "vcpu_hours_per_month": 1460}
    assert size_worker(w, spot_ok=False).resources["spot"] is False
    steady = Worker(name="s", type="worker", vcpu=4, interruptible=False)
    assert size_worker(steady, spot_ok=True).resources["spot"] is False


def test_database_memory_and_vcpu_from_data_size():
    d = size_database(Database(name="db", type="database", storage_gb=500,
                               growth_gb_per_month=20), 99.9, 12)
    # a tenth of 500 GB in memory = 50 GiB; 50 / 8 GiB per vCPU -> 6.25 vCPU sustained
    assert d.resources["memory_gib"] == 50
    assert d.resources["vcpu"] == 6.25
    assert d.resources["ha"] is True
    assert "month 12 = 500 + 20 x 11 = 720 GB" in d.trace[2]
    # a small database has no 2-vCPU / 4-GiB floor: 1 GiB and an eighth of a vCPU, which
    # the smallest burstable tiers cover (issue #12, item 5)
    small = size_database(Database(name="db", type="database", storage_gb=5), 99.5, 1)
    assert small.resources["memory_gib"] == 1 and small.resources["vcpu"] == 0.125
    assert small.resources["ha"] is False


def test_cache_overhead_and_replica():
    d = size_cache(Cache(name="c", type="cache", memory_gb=8), 99.9)
    assert d.resources == {"memory_gib": 10.0, "ha": True}


def test_object_storage_class():
    d = size_object_storage(ObjectStorage(name="o", type="object_storage", storage_gb=100,
                                          access="infrequent"), 6)
    assert d.resources["storage_class"] == "infrequent"


def test_training_flops_and_memory():
    d = size_training(MlTraining(name="t", type="ml_training", model_params_b=7,
                                 tokens_b_per_run=2, runs_per_month=4), spot_ok=True)
    assert d.resources["flops_per_month"] == pytest.approx(6 * 7e9 * 2e9 * 4)
    # 7e9 params x 16 bytes x 1.2 = 134.4e9 bytes = 125.2 GiB
    assert d.resources["memory_gib_total"] == pytest.approx(125.2, abs=0.05)
    assert d.resources["spot"] is True


def test_kv_cache_shape_for_a_7b_model():
    per_token, layers, d_model, width = kv_bytes_per_token(7)
    # d_model = (7e9 x 128 / 12)^(1/3) = 4211; layers = 4211 / 128 = 33; K/V width 8 x 128
    # (a quarter of d_model is 1053)
    assert d_model == 4211 and layers == 33 and width == 1024
    assert per_token == 2 * 33 * 1024 * 2


@pytest.mark.parametrize(("params_b", "published"), [
    # 2 (K and V) x layers x K/V heads x head dim x 2 bytes, from each model's config.json
    (1, 2 * 16 * 8 * 64 * 2),     # Llama 3.2 1B
    (8, 2 * 32 * 8 * 128 * 2),    # Llama 3.1 8B
    (70, 2 * 80 * 8 * 128 * 2),   # Llama 3.1 70B
    (72, 2 * 80 * 8 * 128 * 2),   # Qwen2.5 72B
    (405, 2 * 126 * 8 * 128 * 2),  # Llama 3.1 405B
])
def test_the_kv_cache_is_within_15_percent_of_published_models(params_b, published):
    """A quarter of d_model as the K/V width had put a 70B model's cache at 644 kB a token,
    twice its Llama 3.1 70B's 328 kB: large models keep 8 K/V heads."""
    per_token = kv_bytes_per_token(params_b)[0]
    assert 0.85 * published <= per_token <= 1.15 * published


def test_inference_memory():
    w = MlInference(name="i", type="ml_inference", model_params_b=8, peak_tokens_per_sec=2000,
                    precision="int8", context_tokens=8192, concurrent_requests=40,
                    avg_prompt_tokens=1500, avg_output_tokens=300)
    d = size_inference(w, 99.9)
    kv_token = kv_bytes_per_token(8)[0]
    assert d.resources["weights_gb"] == 8.0
    # one request at the full context, the other 39 at the average (prompt + half the reply)
    assert d.resources["kv_gb"] == pytest.approx(kv_token * (8192 + 39 * 1650) / 1e9,
                                                 rel=1e-3)
    assert d.resources["memory_gb"] == pytest.approx((8 + d.resources["kv_gb"]) * 1.1,
                                                     rel=1e-3)
    assert d.resources["replicas_min"] == 2
    assert math.isclose(size_inference(w.model_copy(update={"precision": "int4"}), 99.0)
                        .resources["weights_gb"], 4.0)
