"""Traces: spans for requests, jobs, agents and LLM calls, recorded with the SDK's in-memory
exporter; and the OTLP/HTTP exporter posting protobuf to a local ``/v1/traces`` server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from infra_mind.agents.llm import OpenAIProvider, ProviderChain, Route
from infra_mind.config import TracingSettings
from infra_mind.kit.retry import RetryPolicy
from infra_mind.observability.tracing import (
    SERVICE_API,
    build_tracer_provider,
    configure_tracing,
    traces_endpoint,
)
from infra_mind.worker import tasks
from tests.api.helpers import create_assessment, create_member
from tests.fake_llm import serve_fake

LLM_ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL",
           "LLM_PROVIDER_ORDER")


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """Spans of this module, in memory. OpenTelemetry's provider is set once per process:
    reuse an SDK provider already there, and stop recording when the module is done."""
    recorded = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(recorded))
    yield recorded
    recorded.shutdown()  # later spans are dropped, not kept for the rest of the session


@pytest.fixture()
def spans(exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    exporter.clear()
    return exporter


@pytest.fixture()
def database_url(tmp_path, migrated_sqlite) -> str:
    """SQLite only: tracing does not depend on the database (the platform tests run both)."""
    return migrated_sqlite(tmp_path / "test.db")


def named(spans: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name.startswith(prefix)]


def all_attribute_values(spans: InMemorySpanExporter) -> str:
    return " ".join(str(v) for s in spans.get_finished_spans() for v in s.attributes.values())


async def test_request_span_names_route_and_status_and_continues_the_callers_trace(
        client, spans):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = await client.get("/api/v1/auth/me?token=leaky-query-value", headers={
        "Authorization": "Bearer super-secret-token", "X-Request-ID": "rid-7",
        "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    assert response.status_code == 401
    [span] = named(spans, "GET ")
    assert span.name == "GET /api/v1/auth/me" and span.kind is SpanKind.SERVER
    assert span.attributes["http.route"] == "/api/v1/auth/me"
    assert span.attributes["http.response.status_code"] == 401
    assert span.attributes["infra_mind.request_id"] == "rid-7"
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None and span.parent.span_id == 0x00F067AA0BA902B7
    assert span.status.status_code is StatusCode.UNSET  # a 4xx is the client's error
    values = all_attribute_values(spans)
    assert "super-secret" not in values and "leaky-query" not in values


async def test_probes_and_scrapes_are_not_traced(client, spans):
    # /metrics answers 404 on the API port outside development (METRICS_PORT serves them)
    for path, status in (("/health", 200), ("/health/ready", 200), ("/metrics", 404)):
        assert (await client.get(path)).status_code == status
    assert spans.get_finished_spans() == ()


async def test_offline_run_traces_agents_under_the_job(app, client, held, spans, monkeypatch):
    for name in LLM_ENV:
        monkeypatch.delenv(name, raising=False)
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    await client.post(f"/api/v1/assessments/{aid}/run", headers=owner.headers)
    spans.clear()

    assert await tasks.run_assessment(aid) == "completed"

    [job] = named(spans, "assessment.run")
    assert job.attributes["infra_mind.assessment_id"] == aid
    assert job.attributes["infra_mind.job.outcome"] == "completed"
    agents = named(spans, "agent ")
    assert {s.attributes["gen_ai.agent.name"] for s in agents} >= {
        "research", "cloud_engineer", "compliance", "cto", "report_writer"}
    for span in agents:
        assert span.parent is not None and span.parent.span_id == job.context.span_id
        assert span.context.trace_id == job.context.trace_id
        assert span.attributes["infra_mind.agent.status"] == "ok"
    assert named(spans, "chat ") == []  # offline: no provider was called


async def test_provider_attempts_carry_provider_model_status_and_tokens(spans):
    prompt = "Size a web tier for the secret project Bluebird."
    with serve_fake() as fake:
        fake.fail("429", retry_after="0")
        provider = OpenAIProvider(api_key="sk-test-secret-0123456789",
                                  base_url=fake.base_url_openai,
                                  prices={"gpt-4o-mini": (0.15, 0.60)})
        chain = ProviderChain([Route(provider, "gpt-4o-mini")],
                              retry=RetryPolicy(max_attempts=2, base_delay_s=0.0,
                                                max_delay_s=0.01))
        completion = await chain.complete("You are terse.", prompt, timeout_s=5.0)
    assert completion.text == fake.answer_text

    first, second = sorted(named(spans, "chat "), key=lambda s: s.start_time)
    for span, attempt in ((first, 1), (second, 2)):
        assert span.name == "chat gpt-4o-mini" and span.kind is SpanKind.CLIENT
        assert span.attributes["gen_ai.provider.name"] == "openai"
        assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"
        assert span.attributes["infra_mind.llm.attempt"] == attempt
    assert first.attributes["infra_mind.llm.status"] == "retryable_error"
    assert first.attributes["error.type"] == "RetryableLLMError"
    assert first.status.status_code is StatusCode.ERROR
    assert second.attributes["infra_mind.llm.status"] == "ok"
    assert second.attributes["gen_ai.usage.input_tokens"] == 1200
    assert second.attributes["gen_ai.usage.output_tokens"] == 300
    assert second.attributes["infra_mind.llm.cost_usd"] == pytest.approx(
        (1200 * 0.15 + 300 * 0.60) / 1e6)
    values = all_attribute_values(spans)
    assert "Bluebird" not in values and "sk-test" not in values and "terse" not in values


# --- configuration and the OTLP/HTTP exporter ---------------------------------------------


def endpoint(env: dict[str, str]) -> str | None:
    """``traces_endpoint`` of the settings in ``env`` alone."""
    return traces_endpoint(TracingSettings.from_env(env))


def test_endpoint_comes_from_the_standard_variables():
    assert endpoint({}) is None
    assert endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318/"}) == \
        "http://jaeger:4318/v1/traces"
    assert endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318",
                     "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b/traces"}) == \
        "http://b/traces"


def test_tracing_stays_off_without_an_endpoint_or_when_disabled():
    assert configure_tracing(SERVICE_API, TracingSettings.from_env({})) is False
    assert configure_tracing(SERVICE_API, TracingSettings.from_env(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_SDK_DISABLED": "true"})) is False


def collector(received: list[tuple[str, str, bytes]]) -> type[BaseHTTPRequestHandler]:
    """An OTLP/HTTP receiver that records each POST (path, content type, body)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.append((self.path, self.headers.get("content-type", ""), body))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

    return Handler


def test_otlp_exporter_posts_protobuf_to_v1_traces():
    received: list[tuple[str, str, bytes]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), collector(received))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    provider = build_tracer_provider("infra-mind-worker", endpoint(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}"}))
    try:
        provider.get_tracer("test").start_span("assessment.run").end()
        assert provider.force_flush(5_000)
    finally:
        provider.shutdown()
        server.shutdown()
        server.server_close()
    [(path, content_type, body)] = received
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attributes["service.name"] == "infra-mind-worker"
    assert resource_spans.scope_spans[0].spans[0].name == "assessment.run"


def test_endpoint_falls_back_to_integrations_yaml(tmp_path):
    (tmp_path / "integrations.yaml").write_text(
        "tracing:\n  otlp_traces_endpoint: http://otel-collector:4318/v1/traces\n")
    assert endpoint({"CONFIG_DIR": str(tmp_path)}) == \
        "http://otel-collector:4318/v1/traces"
    assert endpoint({"CONFIG_DIR": str(tmp_path),
                     "OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}) == \
        "http://jaeger:4318/v1/traces"  # the environment wins
