"""Where no machine can serve a model, the violation says why and what would.

A made-up 405B assistant at fp16 with a 32K context got "no priced GPU machine fits the
model" on all three providers and a $58 "recommendation" with the model missing from
neither total nor unpriced parts. On GCP one request needs 827 GB against 625 GB
on 8 x H100; on AWS 8 x H200 hold it but stream one request at 28 tokens/s against the 30
asked. At int8 it fits. Real catalog.
"""

from __future__ import annotations

from infra_mind.engine.assess import assess

MODEL = {"name": "big-model", "type": "ml_inference", "model_params_b": 405,
         "peak_tokens_per_sec": 1500, "avg_tokens_per_sec": 600, "precision": "fp16",
         "context_tokens": 32768, "avg_prompt_tokens": 6000, "avg_output_tokens": 800}


def options(**model):
    result = assess({"name": "405B", "users": ["us"], "availability_target": 99.9,
                     "workloads": [{**MODEL, **model}]})
    return {o.provider: o for o in result.options}


def test_memory_or_speed_is_named_with_the_precision_that_fits():
    found = options()
    (gcp,) = found["gcp"].violations
    assert gcp.startswith("big-model: no priced GPU machine in gcp us-central1 fits the model: "
                          "one request at its full context needs 827 GB (weights 810 GB, KV "
                          "cache 17 GB), more than the largest machine, a3-highgpu-8g (8 x "
                          "H100, 625 GB usable), holds; at int8 (405 GB of weights) it fits")
    (aws,) = found["aws"].violations
    assert "p5en.48xlarge (8 x H200, 1,101 GB usable), holds it but streams one request at " \
           "most 27.9 tokens/s" in aws
    assert "under the 30 asked (tokens_per_sec_per_request)" in aws
    assert aws.endswith("serving across machines (pipeline parallel) is not designed")
    # the model is not silently out of the total: it is an unpriced part
    assert found["gcp"].unpriced == [
        "big-model: inference GPUs (no priced machine in gcp us-central1 fits the model)"]


def test_no_smaller_precision_is_offered_where_it_would_not_fit():
    # int4 has no smaller precision; at 1,600B its 800 GB do not fit 8 x H100 anyway
    (gcp,) = options(model_params_b=1600, precision="int4")["gcp"].violations
    assert "at int" not in gcp and "more than the largest machine" in gcp
