"""Prometheus metrics of one process, on its own registry (tests build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("http_requests_total", "HTTP requests", ["method", "route",
                                                                          "status"], registry=r)
        self.latency = Histogram("http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route", "status"], buckets=LATENCY_BUCKETS,
                                 registry=r)
        self.assessments = Counter("assessments_total", "Assessment lifecycle events",
                                   ["event"], registry=r)  # created | completed | failed
        self.assessment_duration = Histogram("assessment_duration_seconds",
                                             "Time from start to completion of a run",
                                             buckets=(*LATENCY_BUCKETS, 30, 60, 300),
                                             registry=r)
        self.queue_depth = Gauge("assessment_queue_depth", "Assessments queued, not yet running",
                                 registry=r)
        self.cache = Counter("cache_requests_total", "Cache lookups", ["result"], registry=r)
        # agents (#5): executions, LLM calls, tokens, cost, fallbacks, number-guard rejections
        self.agent_runs = Counter("agent_executions_total", "Agent node executions",
                                  ["agent", "status"], registry=r)  # ok | error
        self.agent_duration = Histogram("agent_duration_seconds", "Agent node wall time",
                                        ["agent", "status"],
                                        buckets=(*LATENCY_BUCKETS, 30, 60, 300), registry=r)
        self.llm_requests = Counter("llm_requests_total", "LLM provider calls",
                                    ["provider", "model", "status"], registry=r)
        self.llm_tokens = Counter("llm_tokens_total", "LLM tokens from providers' usage",
                                  ["provider", "model", "direction"], registry=r)
        self.llm_cost = Counter("llm_cost_usd_total", "LLM cost in USD (priced models)",
                                ["provider", "model"], registry=r)
        self.llm_fallbacks = Counter("llm_fallbacks_total", "Sections written by the offline "
                                     "writer instead of a model", ["agent", "reason"],
                                     registry=r)
        self.number_guard = Counter("number_guard_rejections_total", "Model texts refused "
                                    "for a number not in the engine's result", ["agent"],
                                    registry=r)
        # reports: one per rendering asked for; status ok | error
        self.reports = Counter("infra_mind_reports_generated_total", "Reports generated",
                               ["kind", "format", "status"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
