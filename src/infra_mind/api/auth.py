"""Authentication API: register, sign in, rotate tokens, sign out, the current user.

Token responses carry ``Cache-Control: no-store``; who the client is comes from
``deps.client_address`` (the trusted proxy's X-Forwarded-For, see ``api.app``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response, status

from infra_mind.api.deps import PlatformDep, PrincipalDep, SessionDep, client_address
from infra_mind.api.openapi import RETRY_AFTER
from infra_mind.api.schemas.assessments import ProblemsBody
from infra_mind.api.schemas.auth import (
    ErrorOut,
    LoginIn,
    RefreshIn,
    RegisterIn,
    RegistrationAccepted,
    TokenPair,
    UserOut,
)
from infra_mind.services.auth import REGISTRATION_ACCEPTED, AuthService

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ProblemsBody, "description": "Invalid request body"}}
_UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing, invalid or expired access token"}}
_BUSY: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorOut, "description": "Every password-hashing slot of this process "
                                            "stayed busy; see Retry-After",
          "headers": RETRY_AFTER}}
#: Tokens must not stay in a browser's, a proxy's or a CDN's cache (RFC 6749 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _service(db: SessionDep, platform: PlatformDep) -> AuthService:
    return AuthService(db, platform)


ServiceDep = Annotated[AuthService, Depends(_service)]


@router.post("/register", status_code=status.HTTP_202_ACCEPTED,
             response_model=RegistrationAccepted,
             responses={422: {"model": ProblemsBody,
                              "description": "Invalid request body, or a password refused "
                                             "(too common, repetitive, or built on the email "
                                             "address): the problem says why"},
                        429: {"model": ErrorOut, "description": "Too many registrations from "
                                                                "this address; see Retry-After"},
                        **_BUSY})
async def register(body: RegisterIn, request: Request,
                   service: ServiceDep) -> RegistrationAccepted:
    """Register an account (with its personal organization, as owner), then sign in.

    The answer is the same whether the email was free or already registered, so it tells
    no one which emails have accounts; an already registered account is left unchanged.
    """
    await service.register(email=body.email, password=body.password,
                           full_name=body.full_name, client_address=client_address(request))
    return RegistrationAccepted(detail=REGISTRATION_ACCEPTED)


@router.post("/login", response_model=TokenPair,
             responses={401: {"model": ErrorOut, "description": "Invalid email or password"},
                        429: {"model": ErrorOut,
                              "description": "Too many failed attempts for this account from "
                                             "this address, or from this address; see "
                                             "Retry-After"},
                        **_BUSY, **_INVALID})
async def login(body: LoginIn, request: Request, response: Response,
                service: ServiceDep) -> TokenPair:
    """Exchange an email and password for an access token and a refresh token."""
    tokens = await service.login(email=body.email, password=body.password,
                                 client_address=client_address(request))
    response.headers.update(NO_STORE)
    return TokenPair.model_validate(tokens)


@router.post("/refresh", response_model=TokenPair,
             responses={401: {"model": ErrorOut,
                              "description": "Invalid, expired, revoked or reused refresh "
                                             "token (reuse revokes its whole family)"},
                        **_INVALID})
async def refresh(body: RefreshIn, request: Request, response: Response,
                  service: ServiceDep) -> TokenPair:
    """Exchange a refresh token (usable once) for a new token pair."""
    tokens = await service.refresh(refresh_token=body.refresh_token,
                                   client_address=client_address(request))
    response.headers.update(NO_STORE)
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
