"""A real HTTP server on 127.0.0.1 that replays recorded price-API answers.

Each provider's replay app answers the way its API does (paths, query
parameters, headers, paging tokens, error bodies) from the files under
``fixtures/``, so the adapters run their real HTTP and boto3 code paths and
nothing touches the internet. ``server.fail(...)`` makes the next answers a
429/500/throttling error first, to exercise the retry policy.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from infra_mind.kit.retry import RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures"
#: The adapters' timeout against the replay server. It answers in milliseconds, but a CI
#: machine running the suite on every core once took over 2 s (the old timeout): the
#: timed-out request had taken the planned 429, and the retry found none
#: (``test_429_retry_after_seconds_is_honoured`` slept 0.5 s, not the 7 asked).
LOOPBACK_TIMEOUT_S = 30.0
GCP_TEST_KEY = "AIzaTEST-not-a-real-key-0123456789"


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body or b"{}")


Reply = tuple[int, dict[str, str], bytes]
App = Callable[[Seen], Reply]


class ReplayServer:
    """``ThreadingHTTPServer`` on an ephemeral loopback port running ``app``."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.requests: list[Seen] = []
        self._failures: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.replay = self  # type: ignore[attr-defined]
        # A short poll interval so shutdown() at teardown returns at once.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,),
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def fail(self, status: int, times: int = 1, headers: dict[str, str] | None = None,
             body: bytes | dict = b"") -> None:
        """Answer the next ``times`` requests with this status before the app answers."""
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        for _ in range(times):
            self._failures.append((status, dict(headers or {}), data))

    def answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            if self._failures:
                return self._failures.popleft()
        return self.app(seen)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        seen = Seen(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()}, body)
        status, headers, payload = self.server.replay.answer(seen)  # type: ignore[attr-defined]
        try:
            self.send_response(status)
            headers = {"Content-Type": "application/json; charset=utf-8", **headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except ConnectionError:
            pass  # the client gave up first (the timeout test): nothing to answer

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _pages(pattern: str) -> list[dict]:
    """Fixture pages ``<name>.1.json``, ``<name>.2.json``, ... in order."""
    files = sorted(FIXTURES.glob(pattern), key=lambda p: int(p.name.split(".")[-2]))
    return [_load(p) for p in files]


def _json(status: int, doc: dict, headers: dict[str, str] | None = None) -> Reply:
    return status, dict(headers or {}), json.dumps(doc).encode()


# -- AWS Price List Query API (JSON 1.1 over POST /) -----------------------------------

AMZ_JSON = {"Content-Type": "application/x-amz-json-1.1",
            "x-amzn-RequestId": "3f1c2a8e-5d4b-4c6a-9e7f-0a1b2c3d4e5f"}


def aws_app(seen: Seen) -> Reply:
    if seen.method != "POST" or seen.path != "/":
        return _json(404, {"__type": "UnknownOperationException"}, AMZ_JSON)
    if seen.headers.get("x-amz-target") != "AWSPriceListService.GetProducts":
        return _json(400, {"__type": "UnknownOperationException"}, AMZ_JSON)
    if "authorization" not in seen.headers:  # the real API refuses unsigned requests
        return _json(400, {"__type": "MissingAuthenticationTokenException",
                           "message": "Missing Authentication Token"}, AMZ_JSON)
    request = seen.json()
    region = next((f["Value"] for f in request.get("Filters", [])
                   if f["Field"] == "regionCode"), None)
    pages = _pages(f"aws/{region}.*.json") or [{"FormatVersion": "aws_v1", "PriceList": []}]
    token = request.get("NextToken")
    if token is None:
        return _json(200, pages[0], AMZ_JSON)
    for i, page in enumerate(pages[:-1]):
        if page.get("NextToken") == token:
            return _json(200, pages[i + 1], AMZ_JSON)
    return _json(400, {"__type": "InvalidNextTokenException",
                       "Message": "The next token is invalid"}, AMZ_JSON)


# -- Azure Retail Prices API -------------------------------------------------------------

_AZ_FILTER = re.compile(r"armRegionName eq '([^']+)' and priceType eq '([^']+)'")


def azure_app(seen: Seen) -> Reply:
    if seen.method != "GET" or seen.path != "/api/retail/prices":
        return _json(404, {"Error": {"Code": "NotFound", "Message": "Resource not found"}})
    match = _AZ_FILTER.search(seen.query.get("$filter", [""])[0])
    if not match or seen.query.get("api-version") != ["2023-01-01-preview"]:
        return _json(400, {"Error": {"Code": "BadRequest", "Message": "Invalid OData parameters"}})
    region, price_type = match.groups()
    pages = _pages(f"azure/{region}.{price_type.lower()}.*.json")
    skip = int(seen.query.get("$skip", ["0"])[0])
    if not pages or skip // 1000 >= len(pages):
        return _json(200, {"BillingCurrency": "USD", "CustomerEntityId": "Default",
                           "CustomerEntityType": "Retail", "Items": [], "NextPageLink": None,
                           "Count": 0})
    return _json(200, pages[skip // 1000])


# -- Cloud Billing Catalog API -------------------------------------------------------------


def gcp_app(seen: Seen) -> Reply:
    if seen.path != "/v1/services/6F81-5844-456A/skus":
        return _json(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
    key = seen.headers.get("x-goog-api-key") or seen.query.get("key", [""])[0]
    if not key:
        return _json(403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message":
                                     "The request is missing a valid API key."}})
    if key != GCP_TEST_KEY:
        return _json(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message":
                                     "API key not valid. Please pass a valid API key."}})
    pages = _pages("gcp/skus.*.json")
    token = seen.query.get("pageToken", [""])[0]
    if not token:
        return _json(200, pages[0])
    for i, page in enumerate(pages[:-1]):
        if page.get("nextPageToken") == token:
            return _json(200, pages[i + 1])
    return _json(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                 "message": "Invalid page token."}})


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def serve() -> Iterator[Callable[[App], ReplayServer]]:
    """Start a replay server for an app; every server stops when the test ends."""
    servers: list[ReplayServer] = []

    def start(app: App) -> ReplayServer:
        server = ReplayServer(app)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def aws_server(serve: Callable[[App], ReplayServer]) -> ReplayServer:
    return serve(aws_app)


@pytest.fixture
def azure_server(serve: Callable[[App], ReplayServer]) -> ReplayServer:
    return serve(azure_app)


@pytest.fixture
def gcp_server(serve: Callable[[App], ReplayServer]) -> ReplayServer:
    return serve(gcp_app)


@pytest.fixture
def gcp_key() -> str:
    """The API key the GCP replay app accepts."""
    return GCP_TEST_KEY


@pytest.fixture
def sleeps() -> list[float]:
    """What the retry policy asked to sleep, in order (nothing really sleeps)."""
    return []


@pytest.fixture
def policy(sleeps: list[float]) -> RetryPolicy:
    """Four attempts, delays 0.5, 1, 2 (jitter pinned to the top of the window), cap 8 s."""
    return RetryPolicy(max_attempts=4, base_delay_s=0.5, max_delay_s=8.0,
                       sleep=sleeps.append, jitter=lambda: 1.0)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on which nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def aws_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> boto3.session.Session:
    """Dummy credentials, and no shared config or instance metadata to consult."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return boto3.session.Session(aws_access_key_id="AKIDTESTTESTTEST",
                                 aws_secret_access_key="test-secret-not-real",
                                 region_name="us-east-1")
