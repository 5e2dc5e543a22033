"""``/api/v1/organizations``: an organization's members, and its own secrets (its LLM
API keys).

Members: anyone who belongs to the organization may list them. Secrets: owners and admins
of the organization only; members and viewers get 404 like anyone else. Whoever does not
belong to the organization gets 404 "organization not found". A secret's value goes in,
encrypted; it never comes back.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status

from infra_mind.api.deps import (
    PrincipalDep,
    SessionDep,
    error_responses,
    service_dependencies,
)
from infra_mind.api.schemas.organizations import (
    MemberList,
    MemberRead,
    SecretList,
    SecretPut,
    SecretRead,
)
from infra_mind.services.organizations import (
    SECRET_NAMES,
    OrganizationMembersService,
    OrganizationSecretsService,
    SecretName,
)

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])

OrganizationId = Annotated[str, Path(max_length=36)]


_errors = error_responses({401: "Not authenticated",
                          404: "No such organization that you own or administer",
                          422: "Invalid request", 429: "Too many changes; see Retry-After",
                          503: "Encryption at rest is not configured (ENCRYPTION_KEY)"})


_member_errors = error_responses({401: "Not authenticated",
                                 404: "No such organization that you belong to",
                                 422: "Invalid request"})


async def _members(db: SessionDep, principal: PrincipalDep) -> OrganizationMembersService:
    return OrganizationMembersService(db, principal)


Members = Annotated[OrganizationMembersService, Depends(_members)]


@router.get("/{organization_id}/members", response_model=MemberList,
            responses=_member_errors(401, 404, 422))
async def list_members(organization_id: OrganizationId, service: Members) -> MemberList:
    """Who belongs to the organization (user id, email, full name, role); any member may
    ask."""
    rows = await service.list(organization_id)
    return MemberList(items=[MemberRead.model_validate(r) for r in rows])


reader, writer = service_dependencies(OrganizationSecretsService)
Reader = Annotated[OrganizationSecretsService, Depends(reader)]
Writer = Annotated[OrganizationSecretsService, Depends(writer)]


@router.get("/{organization_id}/secrets", response_model=SecretList,
            responses=_errors(401, 404, 422))
async def list_secrets(organization_id: OrganizationId, service: Reader) -> SecretList:
    """The organization's secrets that are set: names, times and masked hints."""
    rows = await service.list(organization_id)
    return SecretList(items=[SecretRead.model_validate(r) for r in rows],
                      names=list(SECRET_NAMES))  # type: ignore[arg-type]


@router.put("/{organization_id}/secrets/{name}", response_model=SecretRead,
            responses=_errors(401, 404, 422, 429, 503))
async def put_secret(organization_id: OrganizationId, name: SecretName, body: SecretPut,
                     service: Writer) -> Any:
    """Set or replace a secret. It is stored encrypted; the answer shows its hint only."""
    return await service.put(organization_id, name, body.value)


@router.delete("/{organization_id}/secrets/{name}", status_code=status.HTTP_204_NO_CONTENT,
               responses=_errors(401, 404, 422, 429))
async def delete_secret(organization_id: OrganizationId, name: SecretName,
                        service: Writer) -> Response:
    """Remove a secret (204 whether or not it was set)."""
    await service.delete(organization_id, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
