"""The web app and the API documentation as ``serve`` answers them (issue #13).

The app is served from ``WEB_DIST_DIR`` (a build made here, in a temporary folder): its
hashed assets cached for a year, ``index.html`` for every path outside the API, a strict
Content-Security-Policy, and the API's own 404s and 405s untouched. ``/docs`` loads
Swagger UI from the package's files with nothing from another origin. These routes need
no database: the app is built without its lifespan.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from infra_mind.api.app import create_app
from infra_mind.api.spa import API_PREFIXES, APP_CSP, _inside
from infra_mind.config import Settings, load_settings

INDEX = ('<!doctype html><html lang="en"><head><title>Infra Mind</title>'
         '<script type="module" src="/assets/index-abc123.js"></script></head>'
         '<body><div id="root"></div></body></html>')
SCRIPT = "console.log('app');\n"
CSP_DIRECTIVES = {"default-src 'self'", "script-src 'self'", "style-src 'self'",
                  "img-src 'self' data:", "connect-src 'self'", "font-src 'self'",
                  "object-src 'none'", "base-uri 'self'", "form-action 'self'",
                  "frame-ancestors 'none'"}


def build(dist: Path) -> None:
    """What ``npm run build`` leaves, in small."""
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text(SCRIPT)
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")


def _client(dist: Path) -> httpx.AsyncClient:
    settings = load_settings(environment="test", database_url="sqlite+aiosqlite:///:memory:",
                             redis_url=None, jwt_secret_key="w" * 48, web_dist_dir=dist)
    transport = httpx.ASGITransport(app=create_app(settings), client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture()
async def built(tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    build(tmp_path / "dist")
    async with _client(tmp_path / "dist") as client:
        yield client


@pytest.fixture()
async def unbuilt(tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(tmp_path / "no-such-dist") as client:
        yield client


def _csp(response: httpx.Response) -> set[str]:
    return {d.strip() for d in response.headers["content-security-policy"].split(";")}


def test_the_policy_allows_only_this_origin():
    assert {d.strip() for d in APP_CSP.split(";")} == CSP_DIRECTIVES
    assert "unsafe" not in APP_CSP and "http" not in APP_CSP and "*" not in APP_CSP


def test_the_default_build_folder_is_the_checkouts_web_dist():
    repository = Path(__file__).resolve().parents[2]
    assert Settings().web_dist_dir == repository / "web" / "dist"


@pytest.mark.parametrize("path", ["/", "/assessments", "/assessments/0b5c?tab=results",
                                  "/settings/", "/signin", "/apix", "/docsy", "/healthz"])
async def test_app_paths_answer_the_page(built, path):
    response = await built.get(path)
    assert response.status_code == 200, response.text
    assert response.text == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert _csp(response) == CSP_DIRECTIVES
    assert response.headers["x-frame-options"] == "DENY"  # the platform's headers too
    head = await built.head(path)
    assert head.status_code == 200 and head.content == b""


async def test_hashed_assets_are_cached_for_a_year(built):
    response = await built.get("/assets/index-abc123.js")
    assert response.status_code == 200
    assert response.text == SCRIPT
    assert response.headers["content-type"].split(";")[0] in ("text/javascript",
                                                              "application/javascript")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    icon = await built.get("/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/assets/missing.js", "/assets/", "/assets/.hidden",
                                  "/assets/%2E%2E/index.html",
                                  "/assets/%2E%2E/%2E%2E/secret.txt"])
async def test_a_missing_asset_is_404_not_the_page(built, tmp_path, path):
    (tmp_path / "secret.txt").write_text("not for the web")
    response = await built.get(path)
    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "Not Found"}


def test_nothing_outside_the_folder_is_served(tmp_path):
    build(tmp_path / "dist")
    (tmp_path / "secret.txt").write_text("not for the web")
    (tmp_path / "dist" / "assets" / "link.js").symlink_to(tmp_path / "secret.txt")
    assets = tmp_path / "dist" / "assets"
    assert _inside(assets, "index-abc123.js") == (assets / "index-abc123.js").resolve()
    for relative in ("../../secret.txt", "../index.html", "link.js", ".", "", "a/../..",
                     "/etc/passwd"):
        assert _inside(assets, relative) is None, relative


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api", "/api/", "/health/nope",
                                  "/metrics/x", "/docs/nope", "/openapi.json/x"])
async def test_api_paths_keep_the_apis_404(built, path):
    response = await built.get(path)
    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "Not Found"}
    assert "content-security-policy" not in response.headers


async def test_methods_keep_their_405s(built):
    login = await built.get("/api/v1/auth/login")  # a POST route: no page here
    assert login.status_code == 405
    assert login.headers["allow"] == "POST"
    page = await built.post("/assessments", json={})
    assert page.status_code == 405
    assert page.headers["allow"] == "GET, HEAD"


async def test_the_api_document_does_not_list_the_app_or_the_docs(built):
    paths = (await built.get("/openapi.json")).json()["paths"]
    assert all(p.startswith(API_PREFIXES) for p in paths), sorted(paths)
    assert not any(p.startswith("/docs") for p in paths)


async def test_without_a_build_the_page_says_how_to_build_it(unbuilt):
    for path in ("/", "/assessments/1"):
        response = await unbuilt.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "The web app is not built" in response.text
        assert "cd web &amp;&amp; npm ci &amp;&amp; npm run build" in response.text
        assert "<script" not in response.text and "style=" not in response.text
        assert _csp(response) == CSP_DIRECTIVES
    assert (await unbuilt.get("/assets/index-abc123.js")).status_code == 404
    assert (await unbuilt.get("/api/v1/nope")).status_code == 404
    assert (await unbuilt.get("/openapi.json")).status_code == 200


async def test_a_build_made_while_serving_is_served(tmp_path):
    async with _client(tmp_path / "dist") as client:
        assert "not built" in (await client.get("/")).text
        build(tmp_path / "dist")
        assert (await client.get("/")).text == INDEX


# -- /docs ------------------------------------------------------------------------------------

URL_ATTRIBUTES = re.compile(r'\b(?:src|href)="([^"]*)"')


async def test_docs_load_everything_from_this_origin(unbuilt):
    page = await unbuilt.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert _csp(page) == CSP_DIRECTIVES  # no inline script: the start script is a file
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    urls = URL_ATTRIBUTES.findall(page.text)
    assert len(urls) == 4, urls
    assert "//" not in page.text.replace("<!doctype html>", "")  # no scheme, no other host
    types = {}
    for url in urls:
        assert url.startswith("/docs/"), url
        loaded = await unbuilt.get(url)
        assert loaded.status_code == 200, url
        types[url.rsplit("/", 1)[-1]] = loaded.headers["content-type"].split(";")[0]
        if url.endswith("swagger-ui-bundle.js"):
            assert len(loaded.content) > 500_000 and b"SwaggerUIBundle" in loaded.content
        if url.endswith("swagger-init.js"):
            assert 'url: "/openapi.json"' in loaded.text
            assert "http" not in loaded.text
    assert types["swagger-ui.css"] == "text/css"
    assert types["favicon.png"] == "image/png"
    assert types["swagger-init.js"] in ("text/javascript", "application/javascript")


async def test_docs_serve_only_swagger_uis_files(unbuilt):
    for name in ("redoc.standalone.js", "..%2F__init__.py", "x.js"):
        assert (await unbuilt.get(f"/docs/assets/{name}")).status_code == 404, name
