"""Prometheus metrics of one process, on its own registry (tests build many apps).

Calls to outside APIs are the exception: the price adapters run in the CLI and in threads,
with no ``Platform`` to hand, so their two collectors live once per process (module level)
and every ``Metrics`` registry of the process exposes them. Labels are closed sets: no label
ever carries an email, an address, a host or a URL someone configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10)

#: The outside APIs the product calls: LLM providers by name (an OpenAI-compatible server
#: counts as ``openai``) and the cloud price lists. Anything else is counted as ``other``.
EXTERNAL_TARGETS = frozenset({"openai", "anthropic", "aws-pricing", "azure-pricing",
                              "gcp-pricing"})
#: One HTTP attempt's outcome: ``rate_limited`` is a 429 (or AWS's throttling error).
ExternalOutcome = Literal["ok", "rate_limited", "error"]

EXTERNAL_REQUESTS = Counter("external_api_requests_total", "HTTP attempts at outside APIs "
                            "(a retried call counts once per attempt)", ["target", "outcome"],
                            registry=None)
# LLM completions take seconds (generation time); the guide's "< 100 ms to external APIs"
# is read on the price lists, hence the fine buckets at the low end and 30/60 s at the top.
EXTERNAL_LATENCY = Histogram("external_api_request_duration_seconds", "Duration of one HTTP "
                             "attempt at an outside API", ["target", "outcome"],
                             buckets=(*LATENCY_BUCKETS, 30, 60), registry=None)


#: Where a process that serves no metrics of its own sends its outside calls instead (the
#: run process: to its API process, ``worker.run_process``); None: counted here.
ExternalCallSink = Callable[[str, ExternalOutcome, float], None]
_external_sink: list[ExternalCallSink] = []


def send_external_calls_to(sink: ExternalCallSink | None) -> None:
    """From now on, ``record_external_call`` hands its figures to ``sink`` (None: counts
    them here again)."""
    _external_sink[:] = [sink] if sink is not None else []


def record_external_call(target: str, outcome: ExternalOutcome, duration_s: float) -> None:
    """Count one HTTP attempt at an outside API and observe its duration (seconds)."""
    if _external_sink:
        _external_sink[0](target, outcome, duration_s)
        return
    label = target if target in EXTERNAL_TARGETS else "other"
    EXTERNAL_REQUESTS.labels(target=label, outcome=outcome).inc()
    EXTERNAL_LATENCY.labels(target=label, outcome=outcome).observe(max(duration_s, 0.0))


#: (reads answered in the process, reads sent to Redis, listening now), read when scraped
NearCacheStats = Callable[[], tuple[int, int, bool]]


class NearCacheCollector:
    """The near cache's figures (``kit.near_cache``), read off it when Prometheus scrapes:
    counting each read as it happens would cost the hot path a lock. In a process without
    one (no Redis, or ``CACHE_NEAR_TTL_S=0``) the lookups read zero and
    ``near_cache_listening`` is absent, so that its 0 means a near cache that does not
    listen (the ``InfraMindNearCacheNotListening`` alert)."""

    def __init__(self) -> None:
        self.source: NearCacheStats | None = None

    def _families(self, hits: int, misses: int, listening: bool | None) -> list[Metric]:
        lookups = CounterMetricFamily(
            "near_cache_lookups", "Reads of the Redis cache answered from this process's "
            "copy (hit) or sent to Redis (miss)", labels=["result"])
        lookups.add_metric(["hit"], hits)
        lookups.add_metric(["miss"], misses)
        if listening is None:
            return [lookups]
        return [lookups, GaugeMetricFamily(
            "near_cache_listening", "1 while this process hears Redis's reports of changed "
            "keys and may answer from its copy; 0 while it does not (every read goes to "
            "Redis); absent without a near cache", value=float(listening))]

    def describe(self) -> list[Metric]:
        return self._families(0, 0, False)

    def collect(self) -> Iterator[Metric]:
        yield from self._families(*(self.source() if self.source else (0, 0, None)))


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
        #: its two series, looked up once (a result read counts one: see request_series)
        self.cache_hit = self.cache.labels(result="hit")
        self.cache_miss = self.cache.labels(result="miss")
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
        # security (#16): failed sign-ins by reason (unknown_email | wrong_password |
        # inactive_account), refresh-token reuse detections, requests refused by a throttle
        # or rate limit (limit: login | registration | writes | what_if | event_streams),
        # and admin route uses by view and outcome (allowed | refused: not an admin)
        self.failed_logins = Counter("auth_failed_logins_total", "Failed sign-ins",
                                     ["reason"], registry=r)
        self.refresh_reuse = Counter("auth_refresh_token_reuse_total", "Refresh tokens "
                                     "presented again after use (the family is revoked)",
                                     registry=r)
        self.throttled = Counter("throttled_requests_total", "Requests refused with 429 by "
                                 "a throttle or rate limit", ["limit"], registry=r)
        self.admin_actions = Counter("admin_actions_total", "Requests to the admin routes",
                                     ["action", "outcome"], registry=r)
        # outside APIs: the process-wide collectors above, exposed here too
        self.external_requests = EXTERNAL_REQUESTS
        self.external_latency = EXTERNAL_LATENCY
        r.register(EXTERNAL_REQUESTS)
        r.register(EXTERNAL_LATENCY)
        self.near_cache = NearCacheCollector()
        r.register(self.near_cache)
        self._request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def request_series(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        """The request counter's and latency histogram's series for these labels, looked
        up once: ``labels()`` takes a lock and builds its key on every call, a cost on
        every request. The labels are bounded (route templates, "unmatched", methods,
        statuses), and so is this."""
        key = (method, route, status)
        series = self._request_series.get(key)
        if series is None:
            labels = (method, route, str(status))
            series = self._request_series[key] = (self.requests.labels(*labels),
                                                  self.latency.labels(*labels))
        return series

    def render(self) -> bytes:
        return generate_latest(self.registry)
