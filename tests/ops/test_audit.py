"""``scripts/audit``: pip-audit over requirements.lock, and the outcomes an operator reads.

pip-audit runs for real against an OSV API on loopback (the protocol of api.osv.dev: a
POST per package and version, the advisories of that release in return), which holds one
advisory for the locked PyJWT: the audit names it and exits 1; with no advisory it exits 0
having asked about every pin; with the service down it exits 3 with one line. What
pip-audit's PyPI service and npm audit answer where their advisory endpoints are not
served (as here) is read from their reports: a skip, never a pass.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.integration.procs import free_port

ROOT = Path(__file__).resolve().parents[2]
AUDIT = ROOT / "scripts" / "audit"
ADVISORY = "GHSA-test-jwt0-0001"  # pip-audit names it by its CVE alias first


def _load() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("infra_mind_audit_script", str(AUDIT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # its dataclasses look their module up there
    loader.exec_module(module)
    return module


audit = _load()


def locked(name: str) -> str:
    match = re.search(rf"^{name}==(\S+)", (ROOT / "requirements.lock").read_text(),
                      re.MULTILINE)
    assert match
    return match[1]


class OsvApi:
    """An OSV ``/v1/query`` endpoint on loopback with the advisories it is given."""

    def __init__(self, advisories: dict[str, list[dict[str, Any]]]) -> None:
        self.advisories = advisories
        self.asked: list[tuple[str, str]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                name, version = query["package"]["name"], query["version"]
                assert query["package"]["ecosystem"] == "PyPI"
                api.asked.append((name, version))
                vulns = api.advisories.get(f"{name}=={version}", [])
                body = json.dumps({"vulns": vulns} if vulns else {}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture()
def osv(request) -> Iterator[tuple[OsvApi, str]]:
    api = OsvApi(getattr(request, "param", {}))
    server = ThreadingHTTPServer(("127.0.0.1", 0), api.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api, f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    finally:
        server.shutdown()
        server.server_close()


def run_audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(AUDIT), *args], capture_output=True, text=True,
                          timeout=300, check=False)


def pins() -> set[tuple[str, str]]:
    return {(name, version) for name, version in re.findall(
        r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\$", (ROOT / "requirements.lock").read_text(),
        re.MULTILINE)}


JWT_ADVISORY = {
    "id": ADVISORY, "schema_version": "1.6.0", "aliases": ["CVE-2099-0001"],
    "summary": "Signature check bypass with a crafted header",
    "affected": [{"package": {"name": "pyjwt", "ecosystem": "PyPI"},
                  "ranges": [{"type": "ECOSYSTEM",
                              "events": [{"introduced": "0"}, {"fixed": "99.0.0"}]}]}],
}


@pytest.mark.parametrize("osv", [{f"pyjwt=={locked('pyjwt')}": [JWT_ADVISORY]}],
                         indirect=True)
def test_a_known_vulnerability_of_a_locked_release_is_named_and_fails(osv, tmp_path):
    api, url = osv
    done = run_audit("python", "--service", "osv", "--osv-url", url,
                     "--cache-dir", str(tmp_path))
    assert done.returncode == audit.VULNERABLE, done.stderr
    assert (f"python: pyjwt {locked('pyjwt')}: CVE-2099-0001 ({ADVISORY}), fixed in 99.0.0: "
            "Signature check bypass with a crafted header") in done.stderr.splitlines()
    assert re.search(r"^python: 1 known vulnerability in \d+ audited of \d+ locked",
                     done.stderr, re.MULTILINE)
    assert set(api.asked) == pins()  # every pin of the lock, at its locked version


def test_no_known_vulnerability_passes_after_asking_about_every_pin(osv, tmp_path):
    api, url = osv
    done = run_audit("python", "--service", "osv", "--osv-url", url,
                     "--cache-dir", str(tmp_path))
    assert done.returncode == audit.CLEAN, done.stderr
    assert done.stdout == (f"python: {len(pins())} locked dependencies audited (osv): no "
                           "known vulnerabilities\n")
    assert set(api.asked) == pins()


def test_an_unreachable_service_is_a_skip_in_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1/query"  # nothing listens there
    done = run_audit("python", "--service", "osv", "--osv-url", url,
                     "--cache-dir", str(tmp_path))
    assert done.returncode == audit.SKIPPED
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("python: skipped: the advisory service (osv) is unreachable: "
                           "cannot reach 127.0.0.1"), line


def test_a_missing_lock_cannot_run(tmp_path):
    done = run_audit("python", "--lock", str(tmp_path / "none.lock"))
    assert done.returncode == audit.FAILED
    assert done.stderr.strip().endswith("none.lock is missing: run scripts/lock")


def _skipped(name: str, version: str) -> dict[str, str]:
    # pip-audit's PyPI service, when pypi.org/pypi/NAME/VERSION/json answers 404
    return {"name": name, "skip_reason": "Dependency not found on PyPI and could not be "
                                         f"audited: {name} ({version})"}


def test_pypi_answering_not_found_for_every_release_is_not_a_pass():
    report = {"dependencies": [_skipped("aiohttp", "3.14.5"), _skipped("pyjwt", "2.10.1")],
              "fixes": []}
    outcome = audit.read_pip_audit(report, "pypi")
    assert outcome.status == audit.SKIPPED
    [line] = outcome.lines
    assert line.startswith("python: skipped: the advisory service is unreachable: PyPI "
                           "answered 'not found' for the release data of all 2 locked")


def test_some_dependencies_not_audited_is_not_a_pass():
    report = {"dependencies": [_skipped("aiohttp", "3.14.5"),
                               {"name": "pyjwt", "version": "2.10.1", "vulns": []}]}
    outcome = audit.read_pip_audit(report, "pypi")
    assert outcome.status == audit.SKIPPED
    assert outcome.lines[0].startswith("python: skipped: 1 of 2 locked dependencies not "
                                       "audited")


def test_npm_refused_audit_endpoint_is_a_skip():
    # what `npm audit --omit=dev --json` printed here: the registry serves GET only
    report = {"message": "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/"
                         "security/advisories/bulk",
              "method": "POST", "statusCode": 405, "body": "",
              "error": {"summary": "", "detail": ""}}
    outcome = audit.read_npm_audit(report)
    assert outcome.status == audit.SKIPPED
    assert outcome.lines == ["web: skipped: the npm advisory service is unreachable from here "
                             "(405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/"
                             "v1/security/advisories/bulk)"]


def test_npm_offline_is_a_skip():
    report = {"error": {"code": "ENOTFOUND", "summary": "request to https://registry.npmjs.org"
                        "/-/npm/v1/security/advisories/bulk failed, reason: getaddrinfo "
                        "ENOTFOUND registry.npmjs.org", "detail": ""}}
    outcome = audit.read_npm_audit(report)
    assert outcome.status == audit.SKIPPED
    assert "getaddrinfo ENOTFOUND registry.npmjs.org" in outcome.lines[0]


def test_npm_vulnerabilities_are_listed_and_fail():
    report = {  # npm 7+ report (auditReportVersion 2)
        "auditReportVersion": 2,
        "vulnerabilities": {
            "cookie": {"name": "cookie", "severity": "low", "isDirect": False,
                       "via": [{"source": 1103907, "name": "cookie", "title": "cookie accepts "
                                "cookie name, path, and domain with out of bounds characters",
                                "url": "https://github.com/advisories/GHSA-pxg6-pf52-xh8x",
                                "severity": "low", "range": "<0.7.0"}],
                       "effects": ["react-router"], "range": "<0.7.0", "nodes": [],
                       "fixAvailable": True},
            "react-router": {"name": "react-router", "severity": "low", "isDirect": True,
                             "via": ["cookie"], "effects": [], "range": "7.0.0 - 7.5.1",
                             "nodes": [], "fixAvailable": True},
        },
        "metadata": {"vulnerabilities": {"info": 0, "low": 2, "moderate": 0, "high": 0,
                                         "critical": 0, "total": 2},
                     "dependencies": {"prod": 40, "dev": 300, "total": 340}},
    }
    outcome = audit.read_npm_audit(report)
    assert outcome.status == audit.VULNERABLE
    assert outcome.lines[0].startswith("web: cookie <0.7.0: low: cookie accepts cookie name")
    assert outcome.lines[1] == "web: react-router 7.0.0 - 7.5.1: low: through cookie"
    assert outcome.lines[2] == "web: 2 vulnerable packages (2 low) among 40 production " \
                               "dependencies"


def test_npm_clean_report_passes():
    report = {"auditReportVersion": 2, "vulnerabilities": {},
              "metadata": {"vulnerabilities": {"total": 0}, "dependencies": {"prod": 40}}}
    outcome = audit.read_npm_audit(report)
    assert outcome.status == audit.CLEAN
    assert outcome.lines == ["web: 40 production dependencies audited: no known "
                             "vulnerabilities"]


def test_the_worst_outcome_wins():
    clean, bad = audit.Outcome(audit.CLEAN), audit.Outcome(audit.VULNERABLE)
    skipped, failed = audit.Outcome(audit.SKIPPED), audit.Outcome(audit.FAILED)
    assert audit.worst([clean, skipped]) == audit.SKIPPED
    assert audit.worst([skipped, bad]) == audit.VULNERABLE
    assert audit.worst([skipped, failed]) == audit.FAILED
    assert audit.worst([clean, clean]) == audit.CLEAN
