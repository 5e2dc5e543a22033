"""Response bodies of ``/api/v1/admin`` (platform admins only)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from infra_mind.api.schemas.assessments import Status, UTCDateTime


class DatabaseStatus(BaseModel):
    dialect: str = Field(description="sqlite or postgresql")
    revision: str | None = Field(description="The migration the database is at")
    head: str = Field(description="The newest migration this version ships")
    up_to_date: bool


class ComponentStatus(BaseModel):
    status: str = Field(description='"ok", or "down" with why')


class CacheStatus(ComponentStatus):
    backend: str = Field(description="memory or redis")


class BrokerStatus(ComponentStatus):
    kind: str = Field(description="InMemoryBroker (the API process runs tasks), or a "
                                  "Redis stream broker (`infra-mind worker` processes)")


class EncryptionStatus(BaseModel):
    configured: bool
    source: str | None = Field(description="ENCRYPTION_KEY, or the development key file")
    keys: list[str] = Field(description="Fingerprints of the keys in force, the encrypting "
                                        "one first")
    values_by_key: dict[str, int] = Field(description="Encrypted values per key fingerprint: "
                                                      "a rotation is done when all are "
                                                      "under the first key")
    problem: str | None = None


class WorkerSeen(BaseModel):
    id: str
    role: str = Field(description="worker, or api (an API process running tasks itself)")
    host: str
    pid: int
    started_at: float = Field(description="Unix time")
    seen_at: float = Field(description="Unix time of its last beat")


class AdminStatus(BaseModel):
    version: str
    environment: str
    database: DatabaseStatus
    cache: CacheStatus
    broker: BrokerStatus
    queue_depth: int = Field(description="Assessments queued, not yet running")
    assessments: dict[Status, int] = Field(description="Assessments by status")
    job_timeout_s: int = Field(description="A running assessment silent this long is stuck")
    workers: list[WorkerSeen] = Field(description="Processes running tasks, seen lately "
                                                  "(all of them with REDIS_URL)")
    encryption: EncryptionStatus


class RunRead(BaseModel):
    id: str
    organization_id: str
    title: str
    status: Status
    progress: int
    current_step: str | None = Field(description="The agents at work")
    attempts: int
    worker_id: str | None
    error: str | None
    queued_at: UTCDateTime | None
    started_at: UTCDateTime | None
    heartbeat_at: UTCDateTime | None
    updated_at: UTCDateTime
    age_s: float | None = Field(description="Seconds since queued (queued runs) or started "
                                            "(running ones)")
    silent_s: float | None = Field(description="Seconds since the last heartbeat (running)")


class QueueRead(BaseModel):
    queued: list[RunRead] = Field(description="The longest waiting first")
    running: list[RunRead] = Field(description="The longest running first")


class StuckRead(BaseModel):
    older_than_s: int
    running: list[RunRead] = Field(description="Running with no heartbeat for longer")
    queued: list[RunRead] = Field(description="Queued for longer")


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: UTCDateTime
    action: str
    actor_id: str | None
    organization_id: str | None
    object_type: str | None
    object_id: str | None
    client_address: str | None
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEventRead] = Field(description="Newest first")
    total: int
    limit: int
    offset: int


class AccountFailuresRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    account: str = Field(description="A user id, or for an email no account has, a digest "
                                     "of it (emails typed are not stored)")
    email: str | None = Field(description="The account's email, when it is one")
    failures: int
    addresses: list[str]
    reasons: dict[str, int] = Field(description="wrong password, unknown email, inactive "
                                                "account")
    first_at: UTCDateTime | None
    last_at: UTCDateTime | None
    locked: bool = Field(description="The login throttle refuses this account now")


class AddressFailuresRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    address: str
    failures: int
    accounts: int = Field(description="Distinct accounts tried from this address")
    first_at: UTCDateTime | None
    last_at: UTCDateTime | None
    locked: bool = Field(description="The login throttle refuses this address now")


class FailedLoginsRead(BaseModel):
    since: UTCDateTime
    failures: int
    truncated: bool = Field(description="More failures than one report reads; narrow `since`")
    accounts: list[AccountFailuresRead] = Field(description="The most failures first")
    addresses: list[AddressFailuresRead] = Field(description="The most failures first")
