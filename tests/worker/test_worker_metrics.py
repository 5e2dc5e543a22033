"""A worker process serves its own metrics (Prometheus scrapes workers on METRICS_PORT)."""

from __future__ import annotations

import socket

import httpx

from infra_mind.config import load_settings
from infra_mind.kit.platform import Platform
from infra_mind.worker.broker import serve_worker_metrics


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_worker_metrics_are_served_and_a_taken_port_moves_on(tmp_path):
    port = _free_port()
    first = Platform.build(load_settings(database_url=f"sqlite:///{tmp_path}/a.db",
                                         metrics_port=port))
    second = Platform.build(load_settings(database_url=f"sqlite:///{tmp_path}/a.db",
                                          metrics_port=port))
    try:
        first.metrics.agent_runs.labels(agent="cto", status="ok").inc()
        assert serve_worker_metrics(first) == port
        taken = serve_worker_metrics(second)
        assert taken is not None and taken != port
        body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'agent_executions_total{agent="cto",status="ok"} 1.0' in body
    finally:
        await first.close()
        await second.close()


async def test_no_port_no_server(tmp_path):
    platform = Platform.build(load_settings(database_url=f"sqlite:///{tmp_path}/a.db"))
    try:
        assert serve_worker_metrics(platform) is None
    finally:
        await platform.close()
