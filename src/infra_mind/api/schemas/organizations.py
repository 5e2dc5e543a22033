"""Request and response bodies of ``/api/v1/organizations``: its members; its secrets (no
body ever carries a secret's value back)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from infra_mind.api.schemas.assessments import UTCDateTime
from infra_mind.services.organizations import MAX_SECRET_CHARS, MIN_SECRET_CHARS, SecretName

#: Printable ASCII, no spaces (API keys); surrounding whitespace (a pasted newline) is cut.
SecretValue = Annotated[str, StringConstraints(strip_whitespace=True,
                                               min_length=MIN_SECRET_CHARS,
                                               max_length=MAX_SECRET_CHARS,
                                               pattern=r"^[!-~]+$")]


class SecretPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: SecretValue = Field(description="The secret (an API key); stored encrypted, "
                                           "never shown again")


class SecretRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: SecretName
    hint: str = Field(description='A masked form, such as "sk-…a1b2"')
    updated_by: str | None = Field(description="The user who last set it")
    created_at: UTCDateTime
    updated_at: UTCDateTime


class SecretList(BaseModel):
    items: list[SecretRead] = Field(description="The secrets that are set, by name")
    names: list[SecretName] = Field(description="Every secret an organization may set")


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: str
    email: str
    full_name: str
    role: Literal["owner", "admin", "member", "viewer"]


class MemberList(BaseModel):
    items: list[MemberRead] = Field(description="The organization's members, in the order "
                                                "they joined")
