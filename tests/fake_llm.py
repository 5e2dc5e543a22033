"""A fake LLM vendor on loopback speaking the OpenAI and Anthropic wire formats.

It answers with responses in the recorded shape of each API, and can be scripted to
fail (429 with Retry-After, 500, 529 overloaded, 401, a malformed body) or to stall past
the client's timeout a given number of times before answering normally. ``responder``
writes the answer text from the request (default: ``answer_text``); ``latency_s`` is added
to every answer (the agents bench uses 1 s).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fault:
    kind: str  # "400" | "401" | "429" | "500" | "529" | "delay" | "malformed"
    retry_after: str | None = None
    delay_s: float = 0.0
    #: Only a request made with this key meets the fault (None: any request): concurrent
    #: sections send at once, and "the first two requests" may carry another key.
    key: str | None = None


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
    responder: Callable[[dict[str, Any]], str] | None = None
    latency_s: float = 0.0
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def fail(
        self, kind: str, times: int = 1, *, retry_after: str | None = None, delay_s: float = 0.5,
        key: str | None = None,
    ) -> None:
        with self.lock:
            for _ in range(times):
                self.faults.append(Fault(kind, retry_after, delay_s, key))

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
            # the client may have given up waiting (a stall test): nothing to answer then
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            sent_key = headers.get("x-api-key") or headers.get("authorization", "")[7:]
            with fake.lock:
                fake.requests.append(Recorded(self.path, headers, body))
                fault = next((f for f in fake.faults if f.key in (None, sent_key)), None)
                if fault is not None:
                    fake.faults.remove(fault)
            if self.path not in ("/v1/chat/completions", "/v1/messages"):
                self._send(404, {"error": {"message": "not found"}}, {})
                return
            if fake.latency_s:
                time.sleep(fake.latency_s)
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.delay_s)
            elif fault is not None and fault.kind == "malformed":
                data = b'{"id": "chatcmpl-cut", "choices": [{"mess'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            elif fault is not None:
                status = int(fault.kind)
                extra = {"retry-after": fault.retry_after} if fault.retry_after else {}
                self._send(status, _error_body(self.path, status, sent_key), extra)
                return
            text = fake.responder(body) if fake.responder else fake.answer_text
            if self.path == "/v1/chat/completions":
                self._send(200, _openai_answer(body, text), {})
            else:
                self._send(200, _anthropic_answer(body, text), {})

    return Handler


@contextmanager
def serve_fake(**kwargs: Any) -> Iterator[FakeLLMServer]:
    fake = FakeLLMServer(**kwargs)
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




# --- answers for the agents' prompts ------------------------------------------------------------


def prompt_of(body: dict[str, Any]) -> str:
    """The user prompt of a request in either wire format."""
    messages = body.get("messages", [])
    return next((m["content"] for m in messages if m.get("role") == "user"), "")


def section_of(body: dict[str, Any]) -> str:
    """The section title an agent's prompt asks for ('' for other prompts)."""
    for line in prompt_of(body).splitlines():
        if line.startswith("Section: "):
            return line.removeprefix("Section: ")
    return ""


def echo_facts(body: dict[str, Any], lines: int = 3) -> str:
    """A well-behaved model: a short paragraph quoting the first facts it was given."""
    prompt = prompt_of(body)
    if "<facts>" not in prompt:
        return "Nothing to add."
    block = prompt.split("<facts>", 1)[1].split("</facts>", 1)[0]
    facts = [f.removeprefix("- ").strip() for f in block.strip().splitlines()][:lines]
    return "In short:\n\n" + "\n".join(f"- {fact}" for fact in facts)


def invents_price(body: dict[str, Any]) -> str:
    """A model that makes a price up."""
    return echo_facts(body) + "\n\nWith a reserved plan it would cost only $999.99 a month."
