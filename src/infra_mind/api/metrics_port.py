"""The API process's Prometheus metrics on their own port (``METRICS_PORT``), not the API's.

Why a port and not a token on ``/metrics``: the API port is what the reverse proxy and
the Ingress publish, so a second port is out of the public path by construction (the
Service and nginx never route to it), and with ``--workers N`` each uvicorn process has
its own registry, which a scrape through the shared API port would reach at random.
Here every process takes a port of its own (the first free of ``METRICS_PORT``,
``METRICS_PORT + 1``, ...), so Prometheus scrapes each of them.

In development with ``METRICS_PORT`` unset, the API port answers ``/metrics`` itself
(``metrics_on_api_port``): a laptop needs no second port. Elsewhere it answers 404.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry

from infra_mind.config import Settings

log = logging.getLogger("infra_mind.metrics")
#: Ports tried after METRICS_PORT when it is taken (by a sibling process of --workers N).
PORT_TRIES = 16


@dataclass
class MetricsServer:
    port: int
    server: WSGIServer
    thread: threading.Thread

    def close(self) -> None:
        """Stop serving and free the port (shutdown waits for the serving loop to end)."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def metrics_on_api_port(settings: Settings) -> bool:
    """Whether ``GET /metrics`` on the API port answers (development without a port)."""
    return settings.environment == "development" and settings.metrics_port is None


def serve_metrics(registry: CollectorRegistry, port: int | None,
                  host: str = "0.0.0.0") -> MetricsServer | None:
    """Serve ``registry`` on ``port`` or the next free one; None when ``port`` is None or
    every port tried is taken (logged: the process still serves the API)."""
    if port is None:
        return None
    from prometheus_client import start_http_server

    for candidate in range(port, min(port + PORT_TRIES, 65536)):
        try:
            server, thread = start_http_server(candidate, addr=host, registry=registry)
        except OSError:
            continue
        log.info("metrics on port %d", candidate)
        return MetricsServer(candidate, server, thread)
    log.warning("metrics not served: ports %d-%d are taken", port, port + PORT_TRIES - 1)
    return None
