"""The baseline of ``bench/api_load.py``: a bare FastAPI app that answers the same paths
with the same bytes as ours, and does nothing else (no authentication, no database).

``python bench/bare_app.py --port P --dir D`` serves each ``D/<name>.json`` file read at
start; ``D/routes.json`` maps a request path to a file name. Same server as
``infra-mind serve``: uvicorn, one process, access log off.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Response


def make_app(folder: Path) -> FastAPI:
    routes: dict[str, str] = json.loads((folder / "routes.json").read_text())
    bodies = {path: (folder / name).read_bytes() for path, name in routes.items()}
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def route(body: bytes):
        async def answer() -> Response:
            return Response(content=body, media_type="application/json")
        return answer

    for path, body in bodies.items():
        app.add_api_route(path, route(body), methods=["GET"])
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    uvicorn.run(make_app(args.dir), host="127.0.0.1", port=args.port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
