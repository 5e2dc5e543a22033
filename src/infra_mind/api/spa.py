"""The web app at ``/``: the built single-page app (``web/dist``) on the API's own origin.

- ``/assets/*``: the build's content-hashed files, cached for a year (``immutable``): a
  new build has new names.
- Every other path outside the API (``/``, ``/assessments/1``, ...) answers ``index.html``,
  which the browser revalidates each time (``no-cache``), so a new build shows at once;
  a file at the root of the build (``/favicon.svg``) is served as itself.
- Paths under ``/api``, ``/docs``, ``/openapi.json``, ``/health`` and ``/metrics`` are never
  the app's (``ClientRoute`` does not match them): an unknown one stays the API's JSON 404,
  and a wrong method there its 405 with the right ``Allow``.

Every answer here carries a Content-Security-Policy that allows only this origin: no
inline script or style, no ``eval``, nothing from another host (the app is built to run
under it: web/vite.config.ts). When the build is missing, every app path answers a short
page saying how to build it; the API is unaffected. None of these routes is in the
OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

#: What the app's pages may load: this origin only (images also as data: URLs, which the
#: app's CSS does not use today but SVG icons commonly are); no framing, no plugins.
APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
           "form-action 'self'; frame-ancestors 'none'")
#: Prefixes that belong to the API, never to the app's client-side routes.
API_PREFIXES = ("/api", "/docs", "/openapi.json", "/health", "/metrics")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
BUILD_COMMAND = "cd web && npm ci && npm run build"

NOT_BUILT_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Infra Mind: the web app is not built</title>
</head>
<body>
<main>
<h1>The web app is not built</h1>
<p>The API is running: its documentation is at <a href="/docs">/docs</a>.</p>
<p>To build the web app (Node.js 20 or later), run
<code>{BUILD_COMMAND.replace("&", "&amp;")}</code> in the repository
(<code>scripts/bootstrap</code> does it when Node.js is installed), then reload this page.</p>
</main>
</body>
</html>
"""


def is_api_path(path: str) -> bool:
    """Whether ``path`` is the API's (under one of ``API_PREFIXES``), not the app's."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in API_PREFIXES)


class ClientRoute(Route):
    """A route that never matches an API path, so the API's 404s and 405s stay its own
    (a catch-all that matched them would answer GET on every API path)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and is_api_path(scope.get("path", "")):
            return Match.NONE, {}
        return super().matches(scope)


def _inside(base: Path, relative: str) -> Path | None:
    """The regular file ``relative`` under ``base``, or None: nothing outside ``base``
    (``..``, symbolic links out) and no hidden file is ever served."""
    if not relative or any(part.startswith(".") for part in relative.split("/")):
        return None
    root = base.resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _headers(cache_control: str) -> dict[str, str]:
    return {"Cache-Control": cache_control, "Content-Security-Policy": APP_CSP}


def install(app: FastAPI, dist: Path) -> None:
    """Serve the app built in ``dist`` (read at each request: a build made while the
    server runs is served without a restart). Call after the API's routers."""

    async def serve(request: Request) -> Response:
        path: str = request.path_params["path"]
        if path.startswith("assets/"):
            asset = _inside(dist / "assets", path.removeprefix("assets/"))
            if asset is None:  # a missing script must not be answered with a page
                return JSONResponse({"detail": "Not Found"}, status_code=404,
                                    headers=_headers(REVALIDATE))
            return FileResponse(asset, headers=_headers(IMMUTABLE))
        index = dist / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT_PAGE, headers=_headers(REVALIDATE))
        if "/" not in path and (top := _inside(dist, path)) is not None:
            return FileResponse(top, headers=_headers(REVALIDATE))
        return FileResponse(index, media_type="text/html", headers=_headers(REVALIDATE))

    app.router.routes.append(ClientRoute("/{path:path}", serve, methods=["GET", "HEAD"],
                                     include_in_schema=False))
