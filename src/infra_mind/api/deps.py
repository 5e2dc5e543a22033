"""FastAPI dependencies: the platform, a per-request session, the authenticated user.

The request owns the transaction: ``session`` commits after the endpoint returns
without error and rolls back otherwise; services never commit. The session ends on
FastAPI's "function" exit stack (where a ``scope="function"`` yield dependency ends), so
the commit happens when the endpoint returns and before the response starts: a client
never gets a 2xx for a change that then fails to commit, and a background task (run
after the response) always finds the change committed. By default FastAPI would close a
yield dependency only after the response is sent. What the commit starts (the cache
writes that keep cached reads true, event-stream messages: ``kit.pubsub.on_commit``) is
awaited too, so the client's next read sees them.

A session costs nothing until used (``RequestSession``): it is made on first use and
takes a connection on its first statement, and a request that used none (a read the
cache answered) neither makes, commits nor closes one. ``session`` is a plain dependency
that registers its own end, not a yield dependency: FastAPI's machinery for one, the
making of a session, and a commit and close of an unused one, each cost more than the
rest of a cached read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import Annotated, Any, Protocol, TypeVar, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.api.schemas.assessments import ErrorBody, ProblemsBody
from infra_mind.kit.errors import NotAuthenticated
from infra_mind.kit.platform import Platform
from infra_mind.kit.pubsub import committed
from infra_mind.kit.security import TokenClaims, TokenError, decode_token
from infra_mind.services.auth import current_access

_bearer = HTTPBearer(auto_error=False)


async def bearer_credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    """The request's bearer credentials as the routes' scheme reads them (None: absent or
    another scheme), for a handler that does not go through FastAPI's resolving
    (``api.direct``)."""
    return await _bearer(request)


async def platform(request: Request) -> Platform:
    # async: FastAPI runs a plain ``def`` dependency on its thread pool, a hand-off per
    # request for one attribute read
    return request.app.state.platform


#: Where FastAPI keeps the exit stack that closes when the endpoint returns, before the
#: response starts (``fastapi.routing.request_response``).
FUNCTION_EXIT_STACK = "fastapi_function_astack"
#: The request's session, once asked for (``session`` may be asked for more than once).
_SESSION = "infra_mind.session"


class RequestSession:
    """The request's ``AsyncSession``, made on first use: to its users it is the session
    itself (every attribute is the real one's), and a request that never touches it
    never makes one. ``close`` before first use closes nothing."""

    __slots__ = ("_make", "opened")

    def __init__(self, make: Callable[[], AsyncSession]) -> None:
        self._make = make
        self.opened: AsyncSession | None = None

    def __getattr__(self, name: str) -> Any:
        real = self.opened
        if real is None:
            real = self.opened = self._make()
        return getattr(real, name)

    async def close(self) -> None:
        if self.opened is not None:
            await self.opened.close()


async def session(request: Request) -> AsyncSession:
    """The request's session; it ends (``_end_session``) when the endpoint returns."""
    lazy: RequestSession | None = request.scope.get(_SESSION)
    if lazy is not None:
        return cast(AsyncSession, lazy)
    stack = request.scope.get(FUNCTION_EXIT_STACK)
    if not isinstance(stack, AsyncExitStack):  # a FastAPI upgrade moved it: never go on
        raise RuntimeError(f"no {FUNCTION_EXIT_STACK} in the request scope: the request's "
                           "transaction could not end before the response")
    lazy = request.scope[_SESSION] = RequestSession(request.app.state.platform.sessions)

    async def end(exc_type: type[BaseException] | None, exc: BaseException | None,
                  tb: TracebackType | None) -> bool:
        s = lazy.opened
        if s is not None and (s.in_transaction() or s.identity_map):  # it was used
            # shielded: a cancelled request still ends its transaction and frees the
            # connection
            await asyncio.shield(_end_session(s, failed=exc_type is not None))
        return False  # an error goes on

    stack.push_async_exit(end)
    return cast(AsyncSession, lazy)


async def _end_session(s: AsyncSession, *, failed: bool) -> None:
    """Commit (and wait for what the commit starts) unless the endpoint failed; close,
    which rolls back whatever was not committed."""
    try:
        if not failed:
            await s.commit()
            await committed(s)
    finally:
        await s.close()


@dataclass(frozen=True)
class Principal:
    """The authenticated user (by id: the row is not loaded) and their role in each
    organization."""

    id: str
    roles: Mapping[str, str]  # organization id -> role
    client_address: str | None
    #: Cache values read along with the user's state (``services.auth.current_access``).
    read_ahead: Mapping[str, str | None] = field(default_factory=dict)


async def principal(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None,
                                           Depends(_bearer)],
                    db: Annotated[AsyncSession, Depends(session)]
                    ) -> Principal:
    """The token's user, if it may act now (``services.auth.current_access``: no SQL when
    the cache holds the user's state; ``db`` is used only when it does not)."""
    return await authenticate(request, credentials, db)


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None,
                       db: AsyncSession, ahead: ReadAhead | None = None) -> Principal:
    """``principal``, called directly (``service_dependencies``, ``service_with``);
    ``ahead`` names cache keys to read along (``Principal.read_ahead``)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("not authenticated", headers={"WWW-Authenticate": "Bearer"})
    p: Platform = request.app.state.platform
    try:
        claims = decode_token(p.settings.secret(), credentials.credentials, "access")
    except TokenError as exc:
        raise NotAuthenticated(str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    access = await current_access(p, db, claims, ahead)
    if access is None:
        raise NotAuthenticated("not authenticated", headers={"WWW-Authenticate": "Bearer"})
    request.state.user_id = access.user_id
    return Principal(id=access.user_id, roles=access.roles,
                     client_address=client_address(request), read_ahead=access.read_ahead)


def client_address(request: Request) -> str | None:
    """The client's address: the peer's, or, when the peer is one of ``TRUSTED_PROXIES``,
    the one that proxy appended to X-Forwarded-For (rewritten by the proxy-headers
    middleware in ``api.app`` before any route runs)."""
    return request.client.host if request.client else None


SessionDep = Annotated[AsyncSession, Depends(session)]
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


#: ``ahead(claims, roles last seen)``: the cache keys a request will read after
#: authenticating, read in the same round trip (``services.auth.current_access``).
ReadAhead = Callable[[TokenClaims, Mapping[str, str] | None], Sequence[str]]


async def service_with(make: Callable[[AsyncSession, Principal, Platform], _S],
                       request: Request, ahead: ReadAhead) -> _S:
    """What ``service_dependencies``' reader gives, for a handler FastAPI does not resolve
    (``api.direct``), with ``ahead``'s keys read along with the user's state."""
    db = await session(request)
    principal = await authenticate(request, await bearer_credentials(request), db, ahead)
    return make(db, principal, request.app.state.platform)


def service_dependencies(make: Callable[[AsyncSession, Principal, Platform], _S]
                         ) -> tuple[Callable[..., Awaitable[_S]], Callable[..., Awaitable[_S]]]:
    """The ``reader`` and ``writer`` dependencies of a service: the writer's transaction is
    committed before the response and counts one write against the user's limit (429).

    Each is one dependency (and the bearer scheme's, for the OpenAPI document) rather
    than a tree of ``session``, ``principal`` and ``platform``: FastAPI's resolving of
    each dependency cost more than the rest of a cached read. ``session`` gives them and
    any ``SessionDep`` of the same request the same session."""

    async def service(request: Request, credentials: HTTPAuthorizationCredentials | None
                      ) -> _S:
        db = await session(request)
        return make(db, await authenticate(request, credentials, db),
                    request.app.state.platform)

    async def reader(request: Request,
                     credentials: Annotated[HTTPAuthorizationCredentials | None,
                                            Depends(_bearer)]) -> _S:
        return await service(request, credentials)

    async def writer(request: Request,
                     credentials: Annotated[HTTPAuthorizationCredentials | None,
                                            Depends(_bearer)]) -> _S:
        made = await service(request, credentials)
        await made.count_write()
        return made

    return reader, writer
