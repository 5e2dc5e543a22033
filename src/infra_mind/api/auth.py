"""Authentication API: register, sign in, rotate tokens, sign out, the current user."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response, status

from infra_mind.api.deps import PlatformDep, PrincipalDep, SessionDep
from infra_mind.api.schemas.auth import (
    ErrorOut,
    LoginIn,
    RefreshIn,
    RegisterIn,
    TokenPair,
    UserOut,
    ValidationErrorOut,
)
from infra_mind.services.auth import AuthService

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrorOut, "description": "Invalid request body"}}
_UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing, invalid or expired access token"}}


def _service(db: SessionDep, platform: PlatformDep) -> AuthService:
    return AuthService(db, platform)


ServiceDep = Annotated[AuthService, Depends(_service)]


def _client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserOut,
             responses={409: {"model": ErrorOut, "description": "Email already registered"},
                        **_INVALID})
async def register(body: RegisterIn, request: Request, service: ServiceDep) -> UserOut:
    """Create an account, its personal organization and the owner membership."""
    profile = await service.register(email=body.email, password=body.password,
                                     full_name=body.full_name,
                                     client_address=_client_address(request))
    return UserOut.model_validate(profile)


@router.post("/login", response_model=TokenPair,
             responses={401: {"model": ErrorOut, "description": "Invalid email or password"},
                        429: {"model": ErrorOut,
                              "description": "Too many failed attempts for this account or "
                                             "address; see Retry-After"},
                        **_INVALID})
async def login(body: LoginIn, request: Request, service: ServiceDep) -> TokenPair:
    """Exchange an email and password for an access token and a refresh token."""
    tokens = await service.login(email=body.email, password=body.password,
                                 client_address=_client_address(request))
    return TokenPair.model_validate(tokens)


@router.post("/refresh", response_model=TokenPair,
             responses={401: {"model": ErrorOut,
                              "description": "Invalid, expired, revoked or reused refresh "
                                             "token (reuse revokes its whole family)"},
                        **_INVALID})
async def refresh(body: RefreshIn, request: Request, service: ServiceDep) -> TokenPair:
    """Exchange a refresh token (usable once) for a new token pair."""
    tokens = await service.refresh(refresh_token=body.refresh_token,
                                   client_address=_client_address(request))
    return TokenPair.model_validate(tokens)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             responses={**_UNAUTHENTICATED, **_INVALID})
async def logout(principal: PrincipalDep, service: ServiceDep,
                 body: Annotated[RefreshIn | None, Body()] = None) -> Response:
    """Revoke the given refresh token's family, or all the user's refresh tokens."""
    await service.logout(user_id=principal.id,
                         refresh_token=body.refresh_token if body else None,
                         client_address=principal.client_address)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut, responses=_UNAUTHENTICATED)
async def me(principal: PrincipalDep, service: ServiceDep) -> UserOut:
    """The signed-in user and their role in each organization."""
    return UserOut.model_validate(await service.profile(principal.user))
