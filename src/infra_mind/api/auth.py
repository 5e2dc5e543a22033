"""Authentication API: register, sign in, rotate tokens, sign out, the current user.

Two ways to hold a session. API clients send and receive both tokens as JSON
(``/login``, ``/refresh``, ``/logout``). The web app uses ``/browser/*``: the same tokens,
rotation and throttles, but the refresh token lives in the ``im_refresh`` cookie, which is
HttpOnly (no script reads it, so an injected script cannot carry it away), SameSite=Strict
(no other site's page makes the browser send it), scoped to ``/api/v1/auth/browser`` (no
other request carries it) and Secure when the request came over HTTPS (its scheme after
the trusted proxy's X-Forwarded-Proto). The access token is only in the JSON body, kept in
the page's memory. Every ``/browser/*`` request must carry ``X-CSRF-Guard: 1``: a
cross-site form cannot send a header, and a cross-site ``fetch`` with one needs a CORS
preflight this API never grants for credentials.

Token responses carry ``Cache-Control: no-store``; who the client is comes from
``deps.client_address`` (the trusted proxy's X-Forwarded-For, see ``api.app``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Cookie, Depends, Request, Response, status

from infra_mind.api.deps import PlatformDep, PrincipalDep, SessionDep, client_address
from infra_mind.api.openapi import RETRY_AFTER
from infra_mind.api.schemas.assessments import ProblemsBody
from infra_mind.api.schemas.auth import (
    AccessToken,
    ErrorOut,
    LoginIn,
    RefreshIn,
    RegisterIn,
    RegistrationAccepted,
    TokenPair,
    UserOut,
)
from infra_mind.kit.errors import Forbidden, NotAuthenticated
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
#: A sign-in refused (``/login`` and ``/browser/login``: the same throttles).
_SIGN_IN_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Invalid email or password"},
    429: {"model": ErrorOut,
          "description": "Too many failed attempts for this account from this address, or "
                         "from this address; see Retry-After"}}
#: Tokens must not stay in a browser's, a proxy's or a CDN's cache (RFC 6749 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def _service(db: SessionDep, platform: PlatformDep) -> AuthService:
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
             responses={**_SIGN_IN_REFUSED, **_BUSY, **_INVALID})
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
    return UserOut.model_validate(await service.profile(principal.id))


# --- browser sessions: the refresh token in an HttpOnly cookie ---------------------------------

REFRESH_COOKIE = "im_refresh"
BROWSER_PATH = "/api/v1/auth/browser"
CSRF_HEADER = "X-CSRF-Guard"
CSRF_REFUSED = ("this request needs the header X-CSRF-Guard: 1, which a page of another "
                "site cannot send")
NO_SESSION = "no browser session; sign in"
#: A refresh token is a few hundred characters; a longer cookie is not one of ours.
REFRESH_COOKIE_MAX_CHARS = 4_096
_CSRF_PARAMETER = {"parameters": [{
    "name": CSRF_HEADER, "in": "header", "required": True,
    "description": "Must be 1: a header a cross-site form cannot send (403 without it)",
    "schema": {"type": "string", "enum": ["1"]}}]}
_CSRF_MISSING: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorOut, "description": f"No {CSRF_HEADER}: 1 header"}}
_NO_SESSION: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No session cookie, or an invalid, expired, "
                                            "revoked or reused refresh token (reuse revokes "
                                            "its whole family); the cookie is cleared"}}
RefreshCookie = Annotated[str | None, Cookie(alias=REFRESH_COOKIE,
                                             description="The session's refresh token, set "
                                                         "by /browser/login (HttpOnly)")]


async def csrf_guard(request: Request) -> None:
    """Refuse (403) a request without ``X-CSRF-Guard: 1``."""
    if request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden(CSRF_REFUSED)


def _cookie_options(request: Request) -> dict[str, Any]:
    # Secure by the scheme the request came with (a trusted proxy's X-Forwarded-Proto has
    # already rewritten it): a browser would drop a Secure cookie set over plain http
    return {"path": BROWSER_PATH, "secure": request.url.scheme == "https",
            "httponly": True, "samesite": "strict"}


def _set_refresh_cookie(response: Response, request: Request, token: str,
                        max_age_s: int) -> None:
    response.set_cookie(REFRESH_COOKIE, token, max_age=max_age_s, **_cookie_options(request))


def _clearing_header(request: Request) -> str:
    """The ``Set-Cookie`` value that removes the session cookie."""
    cleared = Response()
    cleared.delete_cookie(REFRESH_COOKIE, **_cookie_options(request))
    return cleared.headers["set-cookie"]


def _usable(cookie: str | None) -> str | None:
    return cookie if cookie and len(cookie) <= REFRESH_COOKIE_MAX_CHARS else None


def _access_token(tokens: Any) -> AccessToken:
    return AccessToken(access_token=tokens.access_token, token_type=tokens.token_type,
                       expires_in=tokens.expires_in)


@router.post("/browser/login", response_model=AccessToken,
             dependencies=[Depends(csrf_guard)], openapi_extra=_CSRF_PARAMETER,
             responses={**_SIGN_IN_REFUSED, **_CSRF_MISSING, **_BUSY, **_INVALID})
async def browser_login(body: LoginIn, request: Request, response: Response,
                        service: ServiceDep, platform: PlatformDep) -> AccessToken:
    """Sign a browser in: the access token in the body, the refresh token in the HttpOnly
    ``im_refresh`` cookie (the same throttles as ``/login``)."""
    tokens = await service.login(email=body.email, password=body.password,
                                 client_address=client_address(request))
    _set_refresh_cookie(response, request, tokens.refresh_token,
                        platform.settings.refresh_token_ttl_s)
    response.headers.update(NO_STORE)
    return _access_token(tokens)


@router.post("/browser/refresh", response_model=AccessToken,
             dependencies=[Depends(csrf_guard)], openapi_extra=_CSRF_PARAMETER,
             responses={**_NO_SESSION, **_CSRF_MISSING, **_INVALID})
async def browser_refresh(request: Request, response: Response, service: ServiceDep,
                          platform: PlatformDep, cookie: RefreshCookie = None) -> AccessToken:
    """A new access token from the session cookie, which rotates (usable once: a reused
    one revokes its whole family, as ``/refresh`` does)."""
    token = _usable(cookie)
    try:
        if token is None:
            raise NotAuthenticated(NO_SESSION, headers={"WWW-Authenticate": "Bearer"})
        tokens = await service.refresh(refresh_token=token,
                                       client_address=client_address(request))
    except NotAuthenticated as exc:
        # a cookie that cannot sign in again is removed, so the browser stops sending it
        raise NotAuthenticated(exc.message, headers={
            **exc.headers, "Set-Cookie": _clearing_header(request)}) from None
    _set_refresh_cookie(response, request, tokens.refresh_token,
                        platform.settings.refresh_token_ttl_s)
    response.headers.update(NO_STORE)
    return _access_token(tokens)


@router.post("/browser/logout", status_code=status.HTTP_204_NO_CONTENT,
             response_class=Response, dependencies=[Depends(csrf_guard)],
             openapi_extra=_CSRF_PARAMETER, responses={**_CSRF_MISSING, **_INVALID})
async def browser_logout(request: Request, service: ServiceDep,
                         cookie: RefreshCookie = None) -> Response:
    """Sign a browser out: revoke its session's refresh-token family and clear the cookie
    (204 with or without a session, so signing out always completes)."""
    await service.end_session(refresh_token=_usable(cookie),
                              client_address=client_address(request))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.headers["Set-Cookie"] = _clearing_header(request)
    response.headers.update(NO_STORE)
    return response
