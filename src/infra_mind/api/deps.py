"""FastAPI dependencies: the platform, a per-request session, the authenticated user.

The request owns the transaction: ``session`` commits after the endpoint returns
without error and rolls back otherwise; services never commit. It runs in FastAPI's
"function" scope, so the commit happens when the endpoint returns and before the
response starts: a client never gets a 2xx for a change that then fails to commit,
and a background task (run after the response) always finds the change committed.
By default FastAPI would close a yield dependency only after the response is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.api.schemas.assessments import ErrorBody, ProblemsBody
from infra_mind.kit.errors import NotAuthenticated
from infra_mind.kit.platform import Platform
from infra_mind.kit.security import TokenError, decode_token
from infra_mind.services.auth import current_access

_bearer = HTTPBearer(auto_error=False)


async def platform(request: Request) -> Platform:
    # async: FastAPI runs a plain ``def`` dependency on its thread pool, a hand-off per
    # request for one attribute read
    return request.app.state.platform


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    factory = request.app.state.platform.sessions
    async with factory() as s:
        try:
            yield s
            await s.commit()
        except BaseException:
            await s.rollback()
            raise


@dataclass(frozen=True)
class Principal:
    """The authenticated user (by id: the row is not loaded) and their role in each
    organization."""

    id: str
    roles: Mapping[str, str]  # organization id -> role
    client_address: str | None


async def principal(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None,
                                           Depends(_bearer)],
                    db: Annotated[AsyncSession, Depends(session, scope="function")]
                    ) -> Principal:
    """The token's user, if it may act now (``services.auth.current_access``: no SQL when
    the cache holds the user's state; ``db`` is used only when it does not)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("not authenticated", headers={"WWW-Authenticate": "Bearer"})
    p: Platform = request.app.state.platform
    try:
        claims = decode_token(p.settings.secret(), credentials.credentials, "access")
    except TokenError as exc:
        raise NotAuthenticated(str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    access = await current_access(p, db, claims)
    if access is None:
        raise NotAuthenticated("not authenticated", headers={"WWW-Authenticate": "Bearer"})
    request.state.user_id = access.user_id
    return Principal(id=access.user_id, roles=access.roles,
                     client_address=client_address(request))


def client_address(request: Request) -> str | None:
    """The client's address: the peer's, or, when the peer is one of ``TRUSTED_PROXIES``,
    the one that proxy appended to X-Forwarded-For (rewritten by the proxy-headers
    middleware in ``api.app`` before any route runs)."""
    return request.client.host if request.client else None


SessionDep = Annotated[AsyncSession, Depends(session, scope="function")]
PrincipalDep = Annotated[Principal, Depends(principal)]
PlatformDep = Annotated[Platform, Depends(platform)]


# --- what every resource router shares --------------------------------------------------------


def error_responses(described: Mapping[int, str]) -> Callable[..., dict[int | str, Any]]:
    """``responses(401, 404, ...)`` for a route's OpenAPI entry: each code with its model
    and the router's own description of it."""
    def responses(*codes: int) -> dict[int | str, Any]:
        return {code: {"model": ProblemsBody if code == 422 else ErrorBody,
                       "description": described[code]} for code in codes}

    return responses


class _Service(Protocol):
    async def count_write(self) -> None: ...


_S = TypeVar("_S", bound=_Service)


def service_dependencies(make: Callable[[AsyncSession, Principal, Platform], _S]
                         ) -> tuple[Callable[..., Awaitable[_S]], Callable[..., Awaitable[_S]]]:
    """The ``reader`` and ``writer`` dependencies of a service: the writer's transaction is
    committed before the response and counts one write against the user's limit (429)."""

    async def reader(db: SessionDep, principal: PrincipalDep, platform: PlatformDep) -> _S:
        return make(db, principal, platform)

    async def writer(db: SessionDep, principal: PrincipalDep, platform: PlatformDep) -> _S:
        service = make(db, principal, platform)
        await service.count_write()
        return service

    return reader, writer
