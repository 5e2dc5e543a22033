"""An organization's members: who belongs to it, with what role.

Any member of the organization may list them (viewers included: knowing who shares an
organization is part of working in it); anyone else gets "organization not found", as
for every other object of an organization they do not belong to.

No FastAPI, no commits: the caller owns the transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.kit.errors import NotFound
from infra_mind.repositories import users
from infra_mind.repositories.users import OrganizationMember
from infra_mind.services.assessments import Actor

NOT_FOUND = "organization not found"


class OrganizationMembersService:
    """Use cases for one actor, in the caller's session (transaction)."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def list(self, organization_id: str) -> list[OrganizationMember]:
        """The members of an organization the actor belongs to (404 otherwise)."""
        if organization_id not in self.actor.roles:
            raise NotFound(NOT_FOUND)
        return await users.members_of(self.session, organization_id)
