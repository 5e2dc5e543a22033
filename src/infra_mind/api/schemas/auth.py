"""Authentication API schemas: registration, login, token pairs (a browser session's
access token alone), the current user."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from infra_mind.api.schemas.text import (
    NOT_BLANK_PYTHON,
    PYTHON_WHITESPACE,
    PublishedPattern,
    character_class,
)

#: Deliberately strict and small (no extra dependency): dot-atom local part, a domain of
#: LDH labels with a top-level label of letters. Applied after lowercasing.
_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
_EMAIL = re.compile(f"{_LOCAL}@{_DOMAIN}")
#: The same as the document publishes it: before lowercasing and trimming (Python's
#: trim), so capitals and surrounding whitespace are allowed. The local part's limit of
#: 64 characters is a negative lookahead (65 characters before any "@"): generators such
#: as hypothesis's skip one and filter by the whole pattern, where a positive lookahead
#: would be generated as text.
_PY_SPACE = character_class(PYTHON_WHITESPACE)
EMAIL_PATTERN = (f"^[{_PY_SPACE}]*(?![^@]{{65}}){_LOCAL.replace('a-z', 'A-Za-z')}"
                 f"@{_DOMAIN.replace('a-z', 'A-Za-z')}[{_PY_SPACE}]*$")
EMAIL_MAX_CHARS = 320
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 128


def _normalize_email(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _check_email(value: str) -> str:
    local, _, _ = value.partition("@")
    if len(local) > 64 or not _EMAIL.fullmatch(value):
        # the message never echoes the input: a password typed into the wrong box stays private
        raise ValueError("not a valid email address")
    return value


Email = Annotated[str, BeforeValidator(_normalize_email),
                  Field(min_length=3, max_length=EMAIL_MAX_CHARS,
                        description="An email address, compared in lower case"),
                  AfterValidator(_check_email), PublishedPattern(EMAIL_PATTERN)]


class ErrorOut(BaseModel):
    """Every refused request: one line saying why (never a secret)."""

    detail: str


class RegisterIn(BaseModel):
    email: Email
    password: str = Field(min_length=PASSWORD_MIN_CHARS, max_length=PASSWORD_MAX_CHARS,
                          description="Refused (422, saying why) when it is one of the most "
                                      "common passwords, repetitive or sequential, or built "
                                      "on the email address or this service's name")
    full_name: Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=200),
                         PublishedPattern(NOT_BLANK_PYTHON)]


class RegistrationAccepted(BaseModel):
    """The same answer whether the email was free or taken: sign in next."""

    detail: str


class LoginIn(BaseModel):
    email: Email
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_CHARS)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4_096)


class TokenPair(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class AccessToken(BaseModel):
    """A browser session's token answer: the refresh token is in the ``im_refresh`` cookie
    (HttpOnly), never in the body."""

    model_config = ConfigDict(from_attributes=True)

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class OrganizationRoleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    role: Literal["owner", "admin", "member", "viewer"]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    full_name: str
    organizations: list[OrganizationRoleOut]
