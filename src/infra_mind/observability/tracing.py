"""Traces through OpenTelemetry: a span per request, job, agent and LLM call.

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``,
or ``tracing.otlp_traces_endpoint`` in ``integrations.yaml``) is set: spans go in batches
over OTLP/HTTP (protobuf) to a collector, Jaeger or Tempo, as service ``infra-mind-api`` or
``infra-mind-worker`` (``OTEL_SERVICE_NAME`` wins). Without it the OpenTelemetry API's no-op
tracer answers, and a span costs next to nothing.

Spans carry names and outcomes (route, status, agent, provider, model, tokens), never
secrets, prompt text, request bodies, query strings or exception messages (a message can
quote any of those): a failure records its exception type only. FastAPI's own request spans
are turned off in ``create_app`` for that reason (they record query strings).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from infra_mind import __version__
from infra_mind.config import TracingSettings
from infra_mind.config.integrations import load_integrations_config

SERVICE_API = "infra-mind-api"
SERVICE_WORKER = "infra-mind-worker"
#: Probes and scrapes: frequent, and nothing to learn from a trace of them.
UNTRACED_PATHS = frozenset({"/health", "/health/ready", "/metrics"})

_tracer = trace.get_tracer("infra_mind", __version__)  # resolves to the provider once set
_lock = threading.Lock()
#: "enabled": whether this process exports spans, decided by the first call that reads the
#: settings (a worker asks before every run: the answer is not read again)
_decided: dict[str, bool] = {}


def traces_endpoint(settings: TracingSettings) -> str | None:
    """Where spans are posted: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` as given, else
    ``$OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces``, else ``tracing.otlp_traces_endpoint`` of
    ``$CONFIG_DIR/integrations.yaml``; None: no traces."""
    explicit = settings.otel_exporter_otlp_traces_endpoint.strip()
    if explicit:
        return explicit
    base = settings.otel_exporter_otlp_endpoint.strip()
    if base:
        return f"{base.rstrip('/')}/v1/traces"
    if not settings.config_dir:
        return None
    return load_integrations_config(config_dir=settings.config_dir).tracing.otlp_traces_endpoint


def build_tracer_provider(service_name: str, endpoint: str):
    """An SDK provider that batches spans to ``endpoint`` over OTLP/HTTP."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": service_name, "service.version": __version__})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def configure_tracing(service_name: str, settings: TracingSettings | None = None) -> bool:
    """Export this process's spans when an OTLP endpoint is set; returns whether it does.

    Decided once per process, from its settings (``settings`` given: a test's question,
    not remembered unless it turns tracing on): the first service name stays, so an API
    process that also runs jobs in-process exports them as ``infra-mind-api``.
    ``OTEL_SDK_DISABLED=true`` keeps tracing off.
    """
    with _lock:
        if _decided.get("enabled") or (settings is None and "enabled" in _decided):
            return _decided["enabled"]
        source = settings or TracingSettings()
        endpoint = traces_endpoint(source)
        enabled = endpoint is not None and \
            source.otel_sdk_disabled.strip().lower() != "true"
        if enabled:
            name = source.otel_service_name.strip() or service_name
            trace.set_tracer_provider(build_tracer_provider(name, endpoint))
        if enabled or settings is None:
            _decided["enabled"] = enabled
        return enabled


def flush_tracing(timeout_ms: int = 5_000) -> None:
    """Send the spans still batched (on shutdown); nothing to do when tracing is off."""
    flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if flush is not None:
        flush(timeout_ms)


def mark_failed(span: Span, exc: BaseException) -> None:
    """The span failed with ``exc``: its type is recorded, never its message."""
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


@contextmanager
def traced(name: str, attributes: Mapping[str, Any] | None = None,
           kind: SpanKind = SpanKind.INTERNAL) -> Iterator[Span]:
    """A current span around a block (a job, an agent); an exception marks it failed."""
    with _tracer.start_as_current_span(name, kind=kind, attributes=dict(attributes or {}),
                                       record_exception=False,
                                       set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:
            mark_failed(span, exc)
            raise


# --- requests (PlatformMiddleware) ------------------------------------------------------


def start_request_span(method: str, path: str, headers: Mapping[bytes, bytes]
                       ) -> tuple[Span | None, object | None]:
    """A server span made current for the request, continuing the caller's trace when a
    ``traceparent`` header came with it; (None, None) for probes and scrapes."""
    if path in UNTRACED_PATHS or not recording():
        return None, None
    carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()
               if k in (b"traceparent", b"tracestate")}
    parent = propagate.extract(carrier) if carrier else None
    span = _tracer.start_span(method, context=parent, kind=SpanKind.SERVER,
                              attributes={"http.request.method": method})
    token = otel_context.attach(trace.set_span_in_context(span, parent))
    return span, token


def recording() -> bool:
    """Whether this process has a tracer provider (``configure_tracing`` set one, or a test
    did): without one every span is the API's no-op, and a request need not pay for making,
    entering and closing one (about 4% of a cached read's CPU)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def end_request_span(span: Span | None, token: object | None, method: str, route: str,
                     status: int, request_id: str) -> None:
    """Name the span after its route template and close it (a 5xx marks it failed)."""
    if span is None:
        return
    otel_context.detach(token)  # type: ignore[arg-type]
    span.update_name(f"{method} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    span.set_attribute("infra_mind.request_id", request_id)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
    span.end()


# --- LLM calls (ProviderChain) ----------------------------------------------------------


def start_llm_span(provider: str, model: str, attempt: int) -> Span:
    """A client span for one provider attempt, child of the agent at work (not made current:
    nothing runs inside it that would trace)."""
    return _tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, attributes={
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
        "gen_ai.request.model": model, "infra_mind.llm.attempt": attempt})


def end_llm_span(span: Span, status: str, exc: BaseException | None = None, *,
                 model: str | None = None, input_tokens: int | None = None,
                 output_tokens: int | None = None, cost_usd: float | None = None) -> None:
    """Close an attempt's span: its status (ok | retryable_error | error, as in
    ``llm_requests_total``), and on success the model that answered, tokens and cost."""
    span.set_attribute("infra_mind.llm.status", status)
    if model is not None:
        span.set_attribute("gen_ai.response.model", model)
    if input_tokens is not None:
        span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
    if output_tokens is not None:
        span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
    if cost_usd is not None:
        span.set_attribute("infra_mind.llm.cost_usd", cost_usd)
    if exc is not None:
        mark_failed(span, exc)
    span.end()
