"""Every router the app serves, in one list (``create_app`` includes them)."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    from infra_mind.api import admin, assessments, auth, catalog, chat, health, organizations

    # assessments early: FastAPI tries every route of each router before the next, and
    # its reads are the hot path (about a fifth of a cached read's CPU went to the routes
    # of catalog and auth)
    return [health.router, assessments.router, catalog.router, auth.router, chat.router,
            organizations.router, admin.router]
