"""How the app mounts its routers (``api.routers.mount``): the routes become the app's own,
with the same OpenAPI document ``include_router`` gives, and a router carrying what only
``include_router`` would apply is refused rather than mounted half-way."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI

from infra_mind.api import routers
from infra_mind.api.app import create_app
from infra_mind.config import load_settings


def _settings():
    return load_settings(environment="test", database_url="sqlite+aiosqlite:///:memory:",
                         redis_url=None, jwt_secret_key="r" * 48)


def test_the_document_is_the_one_include_router_gives(monkeypatch):
    mounted = create_app(_settings())
    own = {id(route) for router in routers.all_routers() for route in router.routes}
    assert own <= {id(route) for route in mounted.router.routes}  # the routes themselves

    def include(app: FastAPI, given) -> None:
        for router in given:
            app.include_router(router)

    monkeypatch.setattr(routers, "mount", include)
    included = create_app(_settings())
    assert mounted.openapi() == included.openapi()


async def _needed() -> None:
    return None


@pytest.mark.parametrize("extra", [
    {"dependencies": [Depends(_needed)]},
    {"on_startup": [lambda: None]},
    {"responses": {418: {"description": "teapot"}}},
])
def test_a_router_with_what_only_include_router_applies_is_refused(extra):
    router = APIRouter(prefix="/x", **extra)

    @router.get("/y")
    async def y() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match=r"mount it with app\.include_router"):
        routers.mount(FastAPI(), [router])
