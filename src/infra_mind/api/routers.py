"""Every router the app serves, in one list (``create_app`` includes them)."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    from infra_mind.api import admin, assessments, auth, catalog, chat, health, organizations

    return [health.router, catalog.router, auth.router, assessments.router, chat.router,
            organizations.router, admin.router]
