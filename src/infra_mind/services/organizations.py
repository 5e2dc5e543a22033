"""An organization's members, and its own secrets (its LLM API keys).

Members: any member of the organization may list them (viewers included: knowing who
shares an organization is part of working in it); anyone else gets "organization not
found", as for every other object of an organization they do not belong to.

Secrets: set, list (masked), delete. Only an owner or an admin of the organization
manages its secrets; anyone else, members and viewers included, gets "organization not
found", so which secrets an organization holds does not leak. A value is encrypted
before it reaches the session (``kit.crypto``, the first key of ``ENCRYPTION_KEY``) and
never leaves this module in clear except through ``secret_value``, for the code that uses
it: no response, log line or audit event carries it; listings show a masked hint.

The organization's runs use them (``agents.providers``): a run's worker reads and
decrypts its organization's keys when the run starts, and asks each provider with the
organization's key first, the server's (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``) next;
chat questions about its assessments do the same in the API process. A key set, replaced
or deleted here is in force from the next run or question.

No FastAPI, no commits: the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.kit.crypto import Keyring, keyring_of
from infra_mind.kit.errors import Invalid, NotFound
from infra_mind.kit.platform import Platform
from infra_mind.models import OrganizationSecret, utcnow
from infra_mind.repositories import organizations
from infra_mind.repositories.organizations import (
    OrganizationMember,
    OrganizationSecretRepository,
)
from infra_mind.services import audit
from infra_mind.services.assessments import MANAGERS, Actor, AssessmentService

#: The secrets an organization may hold (the providers' API keys).
SecretName = Literal["openai_api_key", "anthropic_api_key"]
SECRET_NAMES: tuple[str, ...] = get_args(SecretName)
MIN_SECRET_CHARS = 8
MAX_SECRET_CHARS = 1_000
NOT_FOUND = "organization not found"


def masked(value: str) -> str:
    """What a listing shows of a value: ``"sk-…a1b2"``; only the last four characters of
    a value shorter than 24 (never more than a quarter of it)."""
    if len(value) >= 24:
        return f"{value[:3]}…{value[-4:]}"
    return f"…{value[-min(4, len(value) // 4):]}" if len(value) >= 4 else "…"


class OrganizationMembersService:
    """Use cases for one actor, in the caller's session (transaction)."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def list(self, organization_id: str) -> list[OrganizationMember]:
        """The members of an organization the actor belongs to (404 otherwise)."""
        if organization_id not in self.actor.roles:
            raise NotFound(NOT_FOUND)
        return await organizations.members_of(self.session, organization_id)


class OrganizationSecretsService:
    """Use cases for one actor, in the caller's session (transaction)."""

    def __init__(self, session: AsyncSession, actor: Actor, platform: Platform) -> None:
        self.session = session
        self.actor = actor
        self.platform = platform

    async def count_write(self) -> None:
        """One change by this user, against the same limit as every other write (429)."""
        await AssessmentService(self.session, self.actor, self.platform).count_write()

    def _managed(self, organization_id: str) -> OrganizationSecretRepository:
        if self.actor.roles.get(organization_id) not in MANAGERS:
            raise NotFound(NOT_FOUND)
        return OrganizationSecretRepository(self.session, organization_id)

    def _audit(self, action: str, organization_id: str, secret_id: str | None,
               **detail: Any) -> None:
        audit.record(self.session, action=action, actor_id=self.actor.id,
                     organization_id=organization_id, object_type="organization_secret",
                     object_id=secret_id, client_address=self.actor.client_address,
                     detail=detail)

    async def list(self, organization_id: str) -> list[OrganizationSecret]:
        return list(await self._managed(organization_id).all())

    async def put(self, organization_id: str, name: str, value: str) -> OrganizationSecret:
        """Set (or replace) a secret; returns its row (ciphertext and hint, no value)."""
        repo = self._managed(organization_id)
        _check(name, value)
        ciphertext, key_fingerprint = keyring_of(self.platform).encrypt(value)
        row, replaced = await repo.put(name, ciphertext=ciphertext,
                                       key_fingerprint=key_fingerprint, hint=masked(value),
                                       user_id=self.actor.id, now=utcnow())
        await self.session.flush()
        self._audit("organization.secret_set", organization_id, row.id, name=name,
                    replaced=replaced)
        return row

    async def delete(self, organization_id: str, name: str) -> None:
        """Remove a secret; removing one that is not set changes (and records) nothing."""
        repo = self._managed(organization_id)
        _check(name, None)
        found = await repo.get(name)
        if found is not None and await repo.delete(name):
            self._audit("organization.secret_deleted", organization_id, found.id, name=name)


def _check(name: str, value: str | None) -> None:
    if name not in SECRET_NAMES:
        raise Invalid(f"unknown secret {name!r}; one of {', '.join(SECRET_NAMES)}")
    if value is not None and not MIN_SECRET_CHARS <= len(value) <= MAX_SECRET_CHARS:
        # the message names the limits, never the value
        raise Invalid(f"a secret has {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters")


async def secret_value(session: AsyncSession, keyring: Keyring, organization_id: str,
                       name: str) -> str | None:
    """The clear value of an organization's secret, or None when it is not set (for the
    code that uses it; never for a response)."""
    row = await OrganizationSecretRepository(session, organization_id).get(name)
    return None if row is None else keyring.decrypt(row.ciphertext)
