"""Browser sessions (``/api/v1/auth/browser/*``, issue #13): the refresh token in an
HttpOnly cookie, never in a body; rotation and reuse detection as in the JSON flow; the
CSRF header. Every test runs on SQLite and on PostgreSQL (the ``client`` fixture).
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest

from infra_mind.api.auth import CSRF_REFUSED

BROWSER = "/api/v1/auth/browser"
PASSWORD = "browser session passphrase 7"
CSRF = {"X-CSRF-Guard": "1"}
TOKEN_KEYS = {"access_token", "token_type", "expires_in"}


async def _account(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    email = f"{name}@example.com"
    registered = await client.post("/api/v1/auth/register", json={
        "email": email, "password": PASSWORD, "full_name": name.title()})
    assert registered.status_code == 202, registered.text
    return {"email": email, "password": PASSWORD}


async def _post(client: httpx.AsyncClient, route: str, *, cookie: str | None = None,
                csrf: bool = True, json: Any = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
    """A POST that carries exactly the cookie given (the client's jar is emptied)."""
    client.cookies.clear()
    sent = {**(CSRF if csrf else {}), **(headers or {})}
    if cookie is not None:
        sent["Cookie"] = f"im_refresh={cookie}"
    return await client.post(f"{BROWSER}/{route}", json=json, headers=sent)


def _cookie(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    """The ``im_refresh`` cookie a response sets: its value and attributes."""
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    jar: SimpleCookie = SimpleCookie()
    jar.load(headers[0])
    morsel = jar["im_refresh"]
    lowered = headers[0].lower()
    return morsel.value, {"path": morsel["path"], "max-age": morsel["max-age"],
                          "samesite": morsel["samesite"], "httponly": "httponly" in lowered,
                          "secure": "; secure" in lowered}


def _cleared(response: httpx.Response) -> bool:
    value, attributes = _cookie(response)
    return value == "" and attributes["max-age"] == "0" and attributes["path"] == BROWSER


def _assert_token_body(response: httpx.Response, refresh_token: str) -> None:
    """An access token, and nothing that is (or contains) the refresh token."""
    assert set(response.json()) == TOKEN_KEYS, response.json()
    assert response.json()["token_type"] == "bearer"
    assert refresh_token not in response.text
    assert response.headers["cache-control"] == "no-store"


async def _me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    client.cookies.clear()
    return await client.get("/api/v1/auth/me",
                            headers={"Authorization": f"Bearer {access_token}"})


async def test_login_sets_the_session_cookie_and_returns_only_the_access_token(client, app):
    account = await _account(client, "ada")
    response = await _post(client, "login", json=account)
    assert response.status_code == 200, response.text
    refresh_token, attributes = _cookie(response)
    assert attributes == {"path": BROWSER, "samesite": "strict", "httponly": True,
                          "secure": False,  # plain http (no trusted proxy said https)
                          "max-age": str(app.state.platform.settings.refresh_token_ttl_s)}
    assert refresh_token.count(".") == 2  # a JWT: the same refresh token as the JSON flow
    _assert_token_body(response, refresh_token)
    me = await _me(client, response.json()["access_token"])
    assert me.status_code == 200 and me.json()["email"] == account["email"]


@pytest.mark.parametrize(("peer", "forwarded_proto", "secure"), [
    ("127.0.0.1", "https", True),  # a trusted proxy (the default TRUSTED_PROXIES) said https
    ("127.0.0.1", None, False),
    ("198.51.100.7", "https", False),  # anyone else's X-Forwarded-Proto is not believed
])
async def test_cookie_is_secure_only_over_https(client, app, peer, forwarded_proto, secure):
    account = await _account(client, f"proxy-{peer.replace('.', '-')}-{forwarded_proto}")
    transport = httpx.ASGITransport(app=app, client=(peer, 50001))
    headers = {"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
        login = await _post(other, "login", json=account, headers=headers)
        assert login.status_code == 200, login.text
        token, attributes = _cookie(login)
        assert attributes["secure"] is secure
        refreshed = await _post(other, "refresh", cookie=token, headers=headers)
        assert refreshed.status_code == 200, refreshed.text
        assert _cookie(refreshed)[1]["secure"] is secure
        out = await _post(other, "logout", cookie=_cookie(refreshed)[0], headers=headers)
        assert out.status_code == 204 and _cookie(out)[1]["secure"] is secure


async def test_https_request_gets_a_secure_cookie(client, app):
    account = await _account(client, "tls")
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as tls:
        login = await _post(tls, "login", json=account)
    assert login.status_code == 200, login.text
    assert _cookie(login)[1]["secure"] is True


async def test_refresh_rotates_the_cookie(client):
    account = await _account(client, "rotate")
    first, _ = _cookie(await _post(client, "login", json=account))
    response = await _post(client, "refresh", cookie=first)
    assert response.status_code == 200, response.text
    second, attributes = _cookie(response)
    assert second != first and attributes["httponly"] and attributes["path"] == BROWSER
    _assert_token_body(response, second)
    assert first not in response.text
    assert (await _me(client, response.json()["access_token"])).status_code == 200
    third, _ = _cookie(await _post(client, "refresh", cookie=second))
    assert third not in (first, second)


async def test_a_reused_cookie_revokes_its_family(client):
    account = await _account(client, "reuse")
    first, _ = _cookie(await _post(client, "login", json=account))
    rotated = await _post(client, "refresh", cookie=first)
    second, _ = _cookie(rotated)
    # the old cookie again (a thief's copy, or the user's): refused, the cookie cleared...
    reused = await _post(client, "refresh", cookie=first)
    assert reused.status_code == 401, reused.text
    assert reused.json() == {"detail": "refresh token reuse detected; sign in again"}
    assert _cleared(reused)
    # ...and the whole family is revoked: the current cookie no longer works either
    after = await _post(client, "refresh", cookie=second)
    assert after.status_code == 401
    assert after.json() == {"detail": "refresh token revoked; sign in again"}
    assert _cleared(after)
    # another session of the same user (its own family) is not touched
    other, _ = _cookie(await _post(client, "login", json=account))
    assert (await _post(client, "refresh", cookie=other)).status_code == 200


@pytest.mark.parametrize("cookie", [None, "", "not-a-token", "x" * 5_000])
async def test_refresh_without_a_valid_cookie_is_401_and_clears_it(client, cookie):
    response = await _post(client, "refresh", cookie=cookie)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert _cleared(response)
    assert set(response.json()) == {"detail"}


async def test_a_json_flow_token_is_refused_as_a_cookie_only_when_reused(client):
    """The cookie holds the same kind of refresh token: one from /login works once."""
    account = await _account(client, "json-flow")
    pair = (await client.post("/api/v1/auth/login", json=account)).json()
    as_cookie = await _post(client, "refresh", cookie=pair["refresh_token"])
    assert as_cookie.status_code == 200
    again = await client.post("/api/v1/auth/refresh",
                              json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401  # used by the cookie refresh: reuse, family revoked


async def test_logout_revokes_the_session_and_clears_the_cookie(client):
    account = await _account(client, "bye")
    token, _ = _cookie(await _post(client, "login", json=account))
    kept, _ = _cookie(await _post(client, "login", json=account))  # another browser
    out = await _post(client, "logout", cookie=token)
    assert out.status_code == 204, out.text
    assert out.content == b""
    assert _cleared(out)
    refused = await _post(client, "refresh", cookie=token)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "refresh token revoked; sign in again"}
    # only that session ends: the other browser's goes on
    assert (await _post(client, "refresh", cookie=kept)).status_code == 200


@pytest.mark.parametrize("cookie", [None, "not-a-token"])
async def test_logout_without_a_session_still_completes(client, cookie):
    out = await _post(client, "logout", cookie=cookie)
    assert out.status_code == 204, out.text
    assert _cleared(out)


@pytest.mark.parametrize("route", ["login", "refresh", "logout"])
@pytest.mark.parametrize("guard", [None, "0", "true"])
async def test_requests_without_the_csrf_header_are_refused(client, route, guard):
    account = await _account(client, f"csrf-{route}-{guard}")
    token, _ = _cookie(await _post(client, "login", json=account))
    headers = {} if guard is None else {"X-CSRF-Guard": guard}
    refused = await _post(client, route, cookie=token, csrf=False, headers=headers,
                          json=account if route == "login" else None)
    assert refused.status_code == 403, refused.text
    assert refused.json() == {"detail": CSRF_REFUSED}
    assert "set-cookie" not in refused.headers  # nothing issued, rotated or cleared
    # the session is as it was: the cookie still refreshes (once)
    assert (await _post(client, "refresh", cookie=token)).status_code == 200


async def test_login_refusals_set_no_cookie(client):
    account = await _account(client, "wrong")
    wrong = await _post(client, "login", json={**account, "password": "not the password"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "invalid email or password"}
    assert "set-cookie" not in wrong.headers


async def test_the_browser_routes_never_document_a_refresh_token_in_a_body(app):
    """The OpenAPI document's answers of /browser/* have no refresh_token property."""
    document = app.openapi()
    schemas = document["components"]["schemas"]
    for route in ("login", "refresh", "logout"):
        operation = document["paths"][f"{BROWSER}/{route}"]["post"]
        guard = [p for p in operation["parameters"] if p["name"] == "X-CSRF-Guard"]
        assert guard and guard[0]["required"] is True and guard[0]["in"] == "header"
        for answer in operation["responses"].values():
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            ref = schema.get("$ref", "").rsplit("/", 1)[-1]
            if ref:
                assert "refresh_token" not in schemas[ref].get("properties", {}), (route, ref)
