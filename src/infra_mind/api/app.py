"""The FastAPI application: middleware, error handling, routers. ``create_app()``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from infra_mind import __version__
from infra_mind.config import Settings
from infra_mind.config import settings as default_settings
from infra_mind.engine.load import field_path
from infra_mind.kit.db import connection_lost
from infra_mind.kit.errors import DomainError
from infra_mind.kit.platform import Platform
from infra_mind.observability.logging import request_id as request_id_var
from infra_mind.observability.tracing import (
    SERVICE_API,
    configure_tracing,
    end_request_span,
    flush_tracing,
    start_request_span,
)

if TYPE_CHECKING:
    from infra_mind.chat.answer import Completer

log = logging.getLogger("infra_mind.access")

#: At shutdown, how long the stale-run sweeper may take to finish the pass under way.
SWEEPER_STOP_S = 10.0

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
#: Sent only on a request that came over HTTPS (its scheme, or X-Forwarded-Proto from a
#: trusted proxy): over plain HTTP a browser ignores it, and a development server on
#: http://localhost must not pin itself. One year; subdomains of the API host included.
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
#: A caller's X-Request-ID is kept only when it is short visible ASCII (it is echoed in a
#: response header and written to logs and spans); anything else gets a fresh id.
REQUEST_ID_MAX_CHARS = 64
_REQUEST_ID_BYTES = frozenset(range(0x21, 0x7F))


def request_id_from(value: bytes | None) -> str:
    """The caller's request id if it is 1-64 visible ASCII characters, else a new one."""
    if value and len(value) <= REQUEST_ID_MAX_CHARS and _REQUEST_ID_BYTES.issuperset(value):
        return value.decode("ascii")
    return os.urandom(16).hex()  # 32 hex digits, as uuid4().hex, without making a UUID


class PlatformMiddleware:
    """Request id, security headers (HSTS over HTTPS), body limit, metrics and a JSON
    access log.

    Pure ASGI (no BaseHTTPMiddleware) so streaming responses (SSE) pass through.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = request_id_from(headers.get(b"x-request-id"))
        security_headers = [*SECURITY_HEADERS, HSTS] if scope.get("scheme") == "https" \
            else SECURITY_HEADERS
        token = request_id_var.set(request_id)
        status = 500
        start = time.perf_counter()
        span, span_token = start_request_span(scope["method"], scope.get("path", ""), headers)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *security_headers,
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            body, refusal = await self._read_body(scope, receive, headers)
            if refusal is not None:
                status = refusal[0]
                await _json(send, refusal[0], {"detail": refusal[1]}, request_id,
                            security_headers)
                return
            replayed = body is None

            async def buffered_receive() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, buffered_receive, send_wrapper)
        finally:
            route = self._record(scope, status, time.perf_counter() - start, request_id)
            end_request_span(span, span_token, scope["method"], route, status, request_id)
            request_id_var.reset(token)

    async def _read_body(self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]
                         ) -> tuple[bytes | None, tuple[int, str] | None]:
        """The whole body (at most ``max_body_bytes``), read before the app runs, or why
        the request is refused: too large, or carrying U+0000 (PostgreSQL cannot store it).
        """
        too_large = (413, f"request body over {self.max_body_bytes} bytes")
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return None, too_large
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            return None, (400, NUL_MESSAGE)
        if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            return None, None
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None, (400, "request body incomplete")
            body.extend(message.get("body", b""))
            more = bool(message.get("more_body"))
            if len(body) > self.max_body_bytes:
                return None, too_large
        if has_nul_escape(bytes(body)):
            return None, (400, NUL_MESSAGE)
        return bytes(body), None

    @staticmethod
    def _record(scope: Scope, status: int, elapsed: float, request_id: str) -> str:
        """Count the request, log it, and return its route template."""
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        platform: Platform | None = getattr(scope["app"].state, "platform", None) \
            if "app" in scope else None
        if platform is not None:
            count, latency = platform.metrics.request_series(scope["method"], path, status)
            count.inc()
            latency.observe(elapsed)
        if log.isEnabledFor(logging.INFO):  # LOG_LEVEL=WARNING: no line is built
            state = scope.get("state") or {}
            log.info(json.dumps({"event": "request", "request_id": request_id,
                                 "method": scope["method"], "route": path, "status": status,
                                 "duration_ms": round(elapsed * 1000, 2),
                                 "user_id": state.get("user_id")}))
        return path


#: PostgreSQL cannot store U+0000 in text or jsonb, and no field of ours needs it.
NUL_MESSAGE = "NUL characters (U+0000) are not allowed in requests"


def has_nul_escape(body: bytes) -> bool:
    """Whether a JSON body encodes U+0000 (as ``\\u0000``, the only way JSON can).

    An escape counts when the backslash before ``u0000`` is itself unescaped: an odd run
    of backslashes. A raw NUL byte is checked too (not valid JSON, but refused early).
    """
    if b"\x00" in body:
        return True
    start = 0
    while (i := body.find(b"u0000", start)) != -1:
        run = 0
        while i - run - 1 >= 0 and body[i - run - 1] == 0x5C:  # backslash
            run += 1
        if run % 2 == 1:
            return True
        start = i + 1
    return False


async def _json(send: Send, status: int, body: dict, request_id: str,
                security_headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            (b"x-request-id", request_id.encode()), *security_headers]})
    await send({"type": "http.response.body", "body": payload})


def create_app(settings: Settings | None = None, *, migrate_on_start: bool = False) -> FastAPI:
    cfg = settings or default_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_tracing(SERVICE_API)  # a no-op unless OTEL_EXPORTER_OTLP_ENDPOINT is set
        if migrate_on_start:  # in a child process, as ``serve`` does: Alembic stays out
            from infra_mind.kit.migrate import upgrade_in_child

            await asyncio.to_thread(upgrade_in_child, cfg.database_url)
        platform = Platform.build(cfg)
        app.state.platform = platform
        from infra_mind.api.metrics_port import serve_metrics
        from infra_mind.kit.presence import start_presence
        from infra_mind.worker.queue import runs_tasks_in_process, start_queue, stop_queue
        from infra_mind.worker.tasks import sweep_forever

        metrics_server = serve_metrics(platform.metrics.registry, cfg.metrics_port)
        await start_queue(platform)
        _prepare_chat(platform)
        # every API process sweeps: a run whose worker died goes back to the queue (the
        # sweep's updates are atomic, so several sweepers never requeue one run twice)
        stop_sweeping = asyncio.Event()
        sweeper = asyncio.create_task(sweep_forever(platform, stop_sweeping))
        # for `infra-mind health-check`
        presence = await start_presence(platform, "api", runs_tasks=runs_tasks_in_process())
        # What start-up made (modules, the app, the platform) lives as long as the process:
        # out of the collector's way, a full collection no longer walks it, and requests
        # stop waiting on one now and then (cached-result p99 at 50 clients: 137 -> ~50
        # ms, bench/api_load.py). Unfrozen at shutdown, so what it held can be collected.
        # No gc.collect() first: a full pass per start cost the test suite (hundreds of
        # apps per process) about a minute, and the little garbage frozen with the rest
        # is handed back at shutdown.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            stop_sweeping.set()  # after the pass under way (``sweep_forever``)
            try:
                await asyncio.wait_for(asyncio.shield(sweeper), SWEEPER_STOP_S)
            except TimeoutError:  # a pass stuck on an unreachable database
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await presence.stop()
            if metrics_server is not None:
                await asyncio.to_thread(metrics_server.close)
            await stop_queue(platform)
            await platform.close()
            await asyncio.to_thread(flush_tracing)

    # FastAPI's own OpenTelemetry spans are off: they record query strings, and
    # PlatformMiddleware opens the request span (route template, status; see tracing.py)
    app = FastAPI(title="Infra Mind", version=__version__, lifespan=lifespan,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False})

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        body: dict = {"detail": exc.message}
        problems = getattr(exc, "problems", None)
        if problems and problems != [exc.message]:
            body["problems"] = problems
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        """The database dropped the request's connection (a restart, a failover, a killed
        backend): 503 with Retry-After, a retry being all the client needs. Unhandled, it
        was a 500, and uvicorn closed the HTTP connection after it, so the client's next
        request on that connection failed too. Any other database error stays a 500."""
        if not connection_lost(exc):
            raise exc
        route = getattr(request.scope.get("route"), "path", None)
        log.warning("database connection lost under %s %s: answered 503", request.method,
                    route or "(no route)")
        return JSONResponse({"detail": "the database connection was lost; try again"},
                            status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{field_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"detail": "invalid request", "problems": problems},
                            status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            # Starlette's Allow names the methods of the first route of the path only
            # (FastAPI makes one route per method): name those of every route (RFC 9110)
            allow = allowed_methods(app.router.routes, request.scope)
            exc = HTTPException(405, exc.detail, headers={**(exc.headers or {}),
                                                          "Allow": allow})
        return await http_exception_handler(request, exc)

    if cfg.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=cfg.cors_origins,
                           allow_credentials=False, allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key"])
    app.add_middleware(PlatformMiddleware, max_body_bytes=cfg.max_body_bytes)
    # outermost: every layer below (request log, throttles, audit, HSTS) sees the client
    # and scheme the trusted proxy reported. uvicorn's own copy is off (``infra-mind
    # serve``), so this is the one place X-Forwarded-* are read. Its walk, checked in
    # uvicorn 0.55: X-Forwarded-For from the right, skipping trusted peers, so the client
    # is the address the last trusted proxy appended, never what the client wrote.
    trusted = "*" if "*" in cfg.trusted_proxies else list(cfg.trusted_proxies)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)
    from infra_mind.api import routers

    routers.mount(app, routers.all_routers())
    from infra_mind.api import docs_page, openapi, spa

    openapi.install(app)
    docs_page.install(app)  # /docs from the package's own files (works offline)
    spa.install(app, cfg.web_dist_dir)  # last: the web app answers the paths left over
    return app


def _prepare_chat(platform: Platform) -> None:
    """How the chat will answer: through the same providers as the agents, or offline.

    The agents' configuration is read (and a broken one stops the start) now, but their
    runtime (the providers' clients: httpx) is built by the first question that goes to
    a model, or by the first run this process executes: an API answering offline, or
    queueing runs for workers, never loads it. Their graph (LangGraph and LangChain, some
    36 MiB) loads with the first run only: a question to a model does not need it.
    """
    from infra_mind.agents.config import load_agents_config
    from infra_mind.agents.provider_keys import OrganizationKeys, configured_names
    from infra_mind.services.chat import (
        COMPLETER_FACTORY_KEY,
        COMPLETER_KEY,
        KEYED_COMPLETER_FACTORY_KEY,
    )

    def keyed(organization: OrganizationKeys) -> Completer | None:
        from infra_mind.worker.tasks import agents_of

        return agents_of(platform).chat_completer(organization)

    # a question about an organization's assessment: its own keys first (services.chat)
    platform[KEYED_COMPLETER_FACTORY_KEY] = keyed
    settings = platform.settings
    # the names alone: the providers' clients (httpx) load with the first model call
    if not configured_names(load_agents_config(settings=settings), settings):
        platform[COMPLETER_KEY] = None  # offline, unless an organization has a key
        return

    def completer() -> Completer | None:
        from infra_mind.worker.tasks import agents_of

        return agents_of(platform).chat_completer()

    platform[COMPLETER_FACTORY_KEY] = completer


#: Methods a 405's ``Allow`` may name (HEAD: FastAPI serves it only where declared).
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> str:
    """The ``Allow`` header of a 405: every method some route serves at this path.

    Each method is tried on a scope of its own (the path only): routers record what
    they match in the scope they are given, and FastAPI's included routers nest, so
    asking each top-level route whether it fully matches is the one public way."""
    def served(method: str) -> bool:
        probe = {"type": "http", "method": method, "path": scope["path"],
                 "root_path": scope.get("root_path", ""), "headers": [], "query_string": b""}
        return any(route.matches(probe)[0] is Match.FULL for route in routes)

    return ", ".join(method for method in HTTP_METHODS if served(method))
