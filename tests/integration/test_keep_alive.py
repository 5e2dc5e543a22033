"""``SERVER_KEEP_ALIVE_S``: how long ``infra-mind serve`` keeps an idle connection open.

Behind nginx, ingress-nginx or a cloud load balancer, which keep idle connections to the
API for 60 s, the API must keep them longer: else it closes one just as the proxy sends a
request on it, and the client gets a 502 (seen in this suite as "Server disconnected"
after a connection sat idle past uvicorn's default, 5 s).

A real ``serve`` on loopback (SQLite, no Redis) with ``SERVER_KEEP_ALIVE_S`` 60: one
connection asks ``/health``, sits idle past uvicorn's 5 s, and asks again on the same
socket. With the default it would find the socket closed. A loaded machine can only make
the idle time longer, never the server's timeout shorter, so the check holds under load.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.integration.procs import base_env, logs_on_failure, serve, wait_ready

KEEP_ALIVE_S = 60
#: Longer than uvicorn's default keep-alive (5 s), far shorter than KEEP_ALIVE_S.
IDLE_S = 7.0


async def _ask_health(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """One ``GET /health`` on an open connection; the response's status line."""
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    await asyncio.wait_for(reader.readexactly(length), 30)
    return head.split(b"\r\n", 1)[0]


async def test_an_idle_connection_outlives_uvicorns_default_when_asked(tmp_path: Path):
    env = base_env(f"sqlite+aiosqlite:///{tmp_path}/keep.db",
                   SERVER_KEEP_ALIVE_S=str(KEEP_ALIVE_S))
    api = serve("api", env, tmp_path)
    try:
        with logs_on_failure([api]):
            async with httpx.AsyncClient(timeout=30) as http:
                await wait_ready(http, [api], [api], 60)
            reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
            try:
                assert await _ask_health(reader, writer) == b"HTTP/1.1 200 OK"
                await asyncio.sleep(IDLE_S)
                assert not reader.at_eof()  # the server has not closed its side
                assert await _ask_health(reader, writer) == b"HTTP/1.1 200 OK"
            finally:
                writer.close()
    finally:
        api.stop()
