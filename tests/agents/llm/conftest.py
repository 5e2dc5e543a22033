"""A fake LLM vendor on loopback speaking the OpenAI and Anthropic wire formats.

It answers with responses in the recorded shape of each API, and can be scripted to
fail (429 with Retry-After, 500, 529 overloaded, 401) or to stall past the client's
timeout a given number of times before answering normally.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from infra_mind.agents.llm import RetryPolicy


@dataclass
class Fault:
    kind: str  # "400" | "401" | "429" | "500" | "529" | "delay"
    retry_after: str | None = None
    delay_s: float = 0.0


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def _openai_answer(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-AbC123",
        "object": "chat.completion",
        "created": 1764331200,
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 1200,
            "completion_tokens": 300,
            "total_tokens": 1500,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "system_fingerprint": "fp_0123456789",
    }


def _anthropic_answer(body: dict[str, Any], text: str) -> dict[str, Any]:
    half = len(text) // 2
    return {
        "id": "msg_01XYZ",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [{"type": "text", "text": text[:half]}, {"type": "text", "text": text[half:]}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 2000,
            "output_tokens": 500,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def _error_body(path: str, status: int, key: str | None) -> dict[str, Any]:
    anthropic = path.endswith("/messages")
    kinds = {
        400: ("invalid_request_error", "invalid_request_error", "max_tokens is too large"),
        429: ("rate_limit_error", "requests", "Rate limit reached for requests"),
        500: ("api_error", "server_error", "The server had an error"),
        529: ("overloaded_error", "server_error", "Overloaded"),
        401: (
            "authentication_error",
            "invalid_request_error",
            f"Incorrect API key provided: {key}",
        ),  # real servers echo part of the key
    }
    anthropic_type, openai_type, message = kinds[status]
    if anthropic:
        return {"type": "error", "error": {"type": anthropic_type, "message": message}}
    return {"error": {"message": message, "type": openai_type, "param": None, "code": None}}


@dataclass
class FakeLLMServer:
    """Scriptable fake; ``base_url_openai`` / ``base_url_anthropic`` point clients at it."""

    answer_text: str = "Use two m7i.large behind an ALB."
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def fail(
        self, kind: str, times: int = 1, *, retry_after: str | None = None, delay_s: float = 0.5
    ) -> None:
        with self.lock:
            for _ in range(times):
                self.faults.append(Fault(kind, retry_after, delay_s))

    @property
    def base_url_openai(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def base_url_anthropic(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def request_count(self) -> int:
        with self.lock:
            return len(self.requests)


def _handler(fake: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            with fake.lock:
                fake.requests.append(Recorded(self.path, headers, body))
                fault = fake.faults.popleft() if fake.faults else None
            if self.path not in ("/v1/chat/completions", "/v1/messages"):
                self._send(404, {"error": {"message": "not found"}}, {})
                return
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.delay_s)
            elif fault is not None:
                status = int(fault.kind)
                key = headers.get("x-api-key") or headers.get("authorization", "")[7:]
                extra = {"retry-after": fault.retry_after} if fault.retry_after else {}
                self._send(status, _error_body(self.path, status, key), extra)
                return
            if self.path == "/v1/chat/completions":
                self._send(200, _openai_answer(body, fake.answer_text), {})
            else:
                self._send(200, _anthropic_answer(body, fake.answer_text), {})

    return Handler


def _serve():
    fake = FakeLLMServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def openai_server():
    yield from _serve()


@pytest.fixture
def anthropic_server():
    yield from _serve()


class FakeClock:
    """Monotonic and wall time that only moves when told to (or when fake sleep runs)."""

    def __init__(self, start: float = 1_764_331_200.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class SleepRecorder:
    clock: FakeClock
    calls: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def sleeps(clock: FakeClock) -> SleepRecorder:
    return SleepRecorder(clock)


@pytest.fixture
def retry(sleeps: SleepRecorder, clock: FakeClock) -> RetryPolicy:
    """Three attempts, backoff 0.5 s doubling; jitter pinned to its cap; no real waiting."""
    return RetryPolicy(
        max_attempts=3,
        base_delay_s=0.5,
        max_delay_s=20.0,
        sleep=sleeps,
        random=lambda: 1.0,
        wall_clock=clock,
    )
