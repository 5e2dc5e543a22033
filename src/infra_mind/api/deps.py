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
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.api.schemas.assessments import ErrorBody, ProblemsBody
from infra_mind.kit.errors import NotAuthenticated
from infra_mind.kit.platform import Platform
from infra_mind.kit.security import TokenError, decode_token
from infra_mind.models import Membership, User

_bearer = HTTPBearer(auto_error=False)


def platform(request: Request) -> Platform:
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
    """The authenticated user and their role in each organization."""

    user: User
    roles: dict[str, str]  # organization id -> role
    client_address: str | None

    @property
    def id(self) -> str:
        return self.user.id


async def principal(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None,
                                           Depends(_bearer)],
                    db: Annotated[AsyncSession, Depends(session, scope="function")]
                    ) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("not authenticated", headers={"WWW-Authenticate": "Bearer"})
    p: Platform = request.app.state.platform
    try:
        claims = decode_token(p.settings.secret(), credentials.credentials, "access")
    except TokenError as exc:
        raise NotAuthenticated(str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    user = await db.get(User, claims.subject)
    if user is None or not user.is_active:
        raise NotAuthenticated("not authenticated", headers={"WWW-Authenticate": "Bearer"})
    rows = await db.execute(select(Membership.organization_id, Membership.role)
                            .where(Membership.user_id == user.id))
    request.state.user_id = user.id
    return Principal(user=user, roles={org: role for org, role in rows.all()},
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
