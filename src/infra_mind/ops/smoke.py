"""``infra-mind smoke --url URL``: one user's whole journey against a deployed API.

The steps a release must not break, in the order a user takes them: the API is ready,
an account is registered (or an existing one used) and signs in, an assessment is created
and run, the run completes within a bound, its executive report is served, the assessment
is deleted (and is gone), the session is signed out. Each step is timed; the first that
fails stops the smoke with its reason, and what the smoke created is deleted on the way
out whenever the API still answers.

What it leaves behind: the account it registered, with its personal organization. The API
has no way for a user to delete their own account, so a smoke cannot remove it; the
account holds no assessment afterwards and its refresh tokens are revoked. ``--email``
(password in ``INFRA_MIND_SMOKE_PASSWORD``) uses one standing account instead, so repeated
smokes register nothing and leave nothing.

Registration is throttled per client address (``REGISTER_ATTEMPTS`` per
``REGISTER_WINDOW_S``, 10 an hour by default): a smoke registers once, so that many smokes
an hour from one address; the next is refused with 429, reported with the server's
Retry-After. Nothing printed holds a token or a password: reasons come from the API's
one-line ``detail`` and tokens live only in the request headers.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

#: The smallest requirements that still take the whole path: the engine sizes and prices a
#: workload on one provider, the agents write their sections, the report renders.
SMOKE_REQUIREMENTS: dict[str, Any] = {
    "name": "Infra Mind smoke test",
    "business": {"monthly_budget_usd": 50},
    "availability_target": 99.5,
    "preferences": {"providers": ["aws"]},
    "workloads": [{"name": "site", "type": "static_site", "storage_gb": 2,
                   "egress_gb_per_month": 100}],
}
SMOKE_TITLE = "smoke test (deleted when the smoke ends)"
API = "/api/v1"
#: Between two looks at a run's status; the wait's bound is the caller's.
POLL_INTERVAL_S = 1.0
#: Run states a run does not leave by itself.
FINAL = ("completed", "failed", "cancelled")


class SmokeFailed(Exception):
    """A step failed; the message is one line saying why."""


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    ok: bool
    note: str


@dataclass
class SmokeReport:
    url: str
    steps: list[Step] = field(default_factory=list)
    #: What the smoke could not remove (one line each).
    left_behind: list[str] = field(default_factory=list)
    #: What the clean-up after a failure did (one line each).
    cleanup: list[str] = field(default_factory=list)
    failed_step: str | None = None
    reason: str | None = None

    @property
    def passed(self) -> bool:
        return self.failed_step is None

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)


def reason_of(response: httpx.Response) -> str:
    """The API's one-line reason for a refused request, never the body of a token answer
    (only refusals get here) and never more than a line."""
    detail: Any = None
    try:
        body = response.json()
        if isinstance(body, dict):
            detail = body.get("detail")
            problems = body.get("problems")
            if isinstance(problems, list) and problems:
                detail = f"{detail}: {problems[0]}"
    except ValueError:
        pass
    if not isinstance(detail, str) or not detail.strip():
        text = response.text.strip().splitlines()
        detail = text[0][:200] if text else response.reason_phrase
    retry = response.headers.get("retry-after")
    return f"{response.status_code} {detail.strip()}" + (f" (retry after {retry} s)"
                                                         if retry else "")


def _expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise SmokeFailed(f"{what}: {reason_of(response)}")
    return response


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise SmokeFailed(f"{what}: the answer is not JSON "
                          f"({response.headers.get('content-type', 'no content type')})"
                          ) from None
    if not isinstance(body, dict):
        raise SmokeFailed(f"{what}: the answer is not a JSON object")
    return body


class Smoke:
    """One smoke run against ``url``; ``run()`` returns the report."""

    def __init__(self, url: str, *, wait_s: float, request_timeout_s: float = 30.0,
                 email: str | None = None, password: str | None = None,
                 echo: Callable[[Step], None] | None = None) -> None:
        self.url = url.rstrip("/")
        self.wait_s = wait_s
        self.email = email
        self.password = password
        self.echo = echo
        self.report = SmokeReport(self.url)
        self.http = httpx.Client(base_url=self.url, timeout=request_timeout_s,
                                 follow_redirects=False,
                                 headers={"User-Agent": "infra-mind-smoke"})
        self._auth: dict[str, str] = {}
        self._refresh: str | None = None
        self._assessment_id: str | None = None
        self._registered: str | None = None

    # -- running ------------------------------------------------------------------------

    def run(self) -> SmokeReport:
        steps: list[tuple[str, Callable[[], str]]] = [("ready", self._ready)]
        if self.email is None:
            steps.append(("register", self._register))
        steps += [("sign in", self._sign_in), ("create", self._create), ("run", self._run),
                  ("wait", self._wait), ("report", self._fetch_report),
                  ("delete", self._delete), ("sign out", self._sign_out)]
        try:
            for name, work in steps:
                if not self._step(name, work):
                    self._clean_up()
                    break
            if self._registered is not None:
                self.report.left_behind.append(
                    f"the account {self._registered} and its personal organization (the "
                    "API lets no user delete their own account; it holds no assessment "
                    "and its sessions are signed out)")
        finally:
            self.http.close()
        return self.report

    def _step(self, name: str, work: Callable[[], str]) -> bool:
        started = time.perf_counter()
        try:
            note, ok = work(), True
        except SmokeFailed as exc:
            note, ok = str(exc), False
        except httpx.TimeoutException as exc:
            note, ok = f"no answer from {self.url} in time ({type(exc).__name__})", False
        except httpx.HTTPError as exc:
            note, ok = f"cannot reach {self.url}: {type(exc).__name__}: {exc}", False
        step = Step(name, time.perf_counter() - started, ok, note)
        self.report.steps.append(step)
        if self.echo is not None:
            self.echo(step)
        if not ok:
            self.report.failed_step, self.report.reason = name, note
        return ok

    # -- the steps ------------------------------------------------------------------------

    def _ready(self) -> str:
        response = self.http.get("/health/ready")
        if response.status_code in (200, 503):
            body = _json(response, "GET /health/ready")
            checks = body.get("checks") or {}
            down = [f"{name}: {state}" for name, state in checks.items()
                    if name != "catalog" and state != "ok"]
            if response.status_code != 200:
                raise SmokeFailed(f"the API is {body.get('status', 'not ready')}"
                                  + (f" ({'; '.join(down)})" if down else ""))
            return f"{body.get('status')}: " + ", ".join(
                f"{name} {state}" for name, state in checks.items())
        raise SmokeFailed(f"GET /health/ready: {reason_of(response)} (is {self.url} the "
                          "Infra Mind API?)")

    def _register(self) -> str:
        self.email = f"smoke-{uuid.uuid4().hex[:12]}@example.com"
        self.password = secrets.token_urlsafe(24)
        response = self.http.post(f"{API}/auth/register", json={
            "email": self.email, "password": self.password,
            "full_name": "Infra Mind smoke test"})
        if response.status_code == 429:
            raise SmokeFailed(f"registration refused: {reason_of(response)}; the server "
                              "allows REGISTER_ATTEMPTS registrations per client address per "
                              "REGISTER_WINDOW_S: wait, or use a standing account with "
                              "--email")
        _expect(response, 202, "POST /auth/register")
        self._registered = self.email
        return f"account {self.email}"

    def _sign_in(self) -> str:
        response = self.http.post(f"{API}/auth/login", json={"email": self.email,
                                                            "password": self.password})
        _expect(response, 200, "POST /auth/login")
        tokens = _json(response, "POST /auth/login")
        if not isinstance(tokens.get("access_token"), str):
            raise SmokeFailed("POST /auth/login: the answer has no access token")
        self._auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        refresh = tokens.get("refresh_token")
        self._refresh = refresh if isinstance(refresh, str) else None
        return f"as {self.email}"

    def _create(self) -> str:
        response = self.http.post(f"{API}/assessments", headers=self._auth, json={
            "title": SMOKE_TITLE, "requirements": SMOKE_REQUIREMENTS})
        _expect(response, 201, "POST /assessments")
        self._assessment_id = str(_json(response, "POST /assessments")["id"])
        return f"assessment {self._assessment_id}"

    def _run(self) -> str:
        response = self.http.post(f"{API}/assessments/{self._assessment_id}/run",
                                  headers={**self._auth,
                                           "Idempotency-Key": f"smoke-{self._assessment_id}"})
        _expect(response, 202, "POST /assessments/{id}/run")
        status = _json(response, "POST /assessments/{id}/run").get("assessment", {})
        return f"accepted ({status.get('status', '?')})"

    def _wait(self) -> str:
        deadline = time.monotonic() + self.wait_s
        while True:
            response = self.http.get(f"{API}/assessments/{self._assessment_id}",
                                     headers=self._auth)
            _expect(response, 200, "GET /assessments/{id}")
            row = _json(response, "GET /assessments/{id}")
            status = row.get("status")
            if status == "completed":
                return f"completed (attempt {row.get('attempts', '?')})"
            if status in FINAL:
                raise SmokeFailed(f"the run ended {status}: {row.get('error') or 'no reason'}")
            if time.monotonic() >= deadline:
                where = row.get("current_step") or "not started"
                raise SmokeFailed(
                    f"the run is still {status} ({where}, {row.get('progress', 0)}%) after "
                    f"{self.wait_s:g} s" + (": is a worker running and reading the queue?"
                                            if status == "queued" else ""))
            time.sleep(min(POLL_INTERVAL_S, max(0.0, deadline - time.monotonic())))

    def _fetch_report(self) -> str:
        response = self.http.get(f"{API}/assessments/{self._assessment_id}/reports/executive",
                                 headers=self._auth)
        _expect(response, 200, "GET /assessments/{id}/reports/executive")
        text = response.text
        if SMOKE_REQUIREMENTS["name"] not in text:
            raise SmokeFailed("the executive report does not name the assessment's "
                              f"requirements ({SMOKE_REQUIREMENTS['name']!r}): "
                              f"{len(text)} characters of "
                              f"{response.headers.get('content-type', 'unknown type')}")
        return f"executive report, {len(text):,} characters"

    def _delete(self) -> str:
        response = self.http.delete(f"{API}/assessments/{self._assessment_id}",
                                    headers=self._auth)
        _expect(response, 204, "DELETE /assessments/{id}")
        gone = self.http.get(f"{API}/assessments/{self._assessment_id}", headers=self._auth)
        if gone.status_code != 404:
            raise SmokeFailed(f"deleted, yet GET /assessments/{{id}} answers "
                              f"{gone.status_code}, not 404")
        deleted, self._assessment_id = self._assessment_id, None
        return f"assessment {deleted} deleted (404 after)"

    def _sign_out(self) -> str:
        # no refresh token in the body: every refresh token of the account is revoked
        response = self.http.post(f"{API}/auth/logout", headers=self._auth)
        _expect(response, 204, "POST /auth/logout")
        self._auth = {}
        return "sessions revoked"

    # -- after a failure ------------------------------------------------------------------

    def _clean_up(self) -> None:
        """Delete the assessment and sign out, when the smoke got that far; each outcome is
        one line of the report (the API may be the thing that failed)."""
        if self._assessment_id is not None and self._auth:
            try:
                self.http.post(f"{API}/assessments/{self._assessment_id}/cancel",
                               headers=self._auth)
                response = self.http.delete(f"{API}/assessments/{self._assessment_id}",
                                            headers=self._auth)
                if response.status_code in (204, 404):
                    self.report.cleanup.append(f"deleted assessment {self._assessment_id}")
                else:
                    self.report.left_behind.append(
                        f"assessment {self._assessment_id} (delete answered "
                        f"{reason_of(response)})")
            except httpx.HTTPError as exc:
                self.report.left_behind.append(f"assessment {self._assessment_id} (delete "
                                               f"failed: {type(exc).__name__})")
        if self._auth:
            try:
                self.http.post(f"{API}/auth/logout", headers=self._auth)
                self.report.cleanup.append("signed out")
            except httpx.HTTPError:
                pass


def run_smoke(url: str, *, wait_s: float, request_timeout_s: float = 30.0,
              email: str | None = None, password: str | None = None,
              echo: Callable[[Step], None] | None = None) -> SmokeReport:
    """Run the smoke against ``url`` (see the module)."""
    return Smoke(url, wait_s=wait_s, request_timeout_s=request_timeout_s, email=email,
                 password=password, echo=echo).run()
