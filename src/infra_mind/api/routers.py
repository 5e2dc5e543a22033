"""Every router the app serves, in one list, and how ``create_app`` mounts them."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI


def all_routers() -> list[APIRouter]:
    from infra_mind.api import admin, assessments, auth, catalog, chat, health, organizations

    # assessments early: FastAPI tries every route in order, and its reads are the hot
    # path (about a fifth of a cached read's CPU went to the routes of catalog and auth)
    return [health.router, assessments.router, catalog.router, auth.router, chat.router,
            organizations.router, admin.router]


def mount(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Each router's routes become the app's own routes, as ``include_router`` made them
    before FastAPI 0.16x: an included router is now matched twice per request (its own
    ``matches``, then again to pick the route), and every match first walks the routers
    for a version number. That was a twentieth of a cached read's CPU.

    What ``include_router`` would add is nothing here: the routes already carry their
    router's prefix and tags, and no router has dependencies, lifespan handlers or
    responses of its own (checked below, so one that gains them is not mounted half-way).
    ``app.dependency_overrides`` does not reach these routes; no code or test uses it.
    """
    for router in routers:
        extras = {"dependencies": router.dependencies, "on_startup": router.on_startup,
                  "on_shutdown": router.on_shutdown, "responses": router.responses,
                  "callbacks": router.callbacks}
        given = [name for name, value in extras.items() if value]
        if not isinstance(router.lifespan_context, type(APIRouter().lifespan_context)):
            given.append("a lifespan")
        if given:
            raise RuntimeError(f"router {router.prefix or '/'} has {', '.join(given)}: mount "
                               "it with app.include_router")
        app.router.routes.extend(router.routes)
