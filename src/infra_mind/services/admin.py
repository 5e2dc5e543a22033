"""Platform admins' views: status, the queue, stuck runs, the audit log, failed sign-ins.

Who is a platform admin: a user whose ``is_platform_admin`` is set, by ``infra-mind admin
grant EMAIL`` (an operator with database access; there is no route that grants it). The
API checks it (``api.admin``); this service reads across every organization and changes
nothing.

No FastAPI, no commits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind import __version__
from infra_mind.kit.crypto import CryptoError, keyring_from_settings
from infra_mind.kit.migrate import head_revision
from infra_mind.kit.platform import Platform
from infra_mind.kit.presence import seen_processes
from infra_mind.models import STATUSES, AuditEvent, utcnow
from infra_mind.repositories import admin as queries
from infra_mind.repositories.admin import RunRow
from infra_mind.repositories.encryption import ENCRYPTED_COLUMNS, count_by_key
from infra_mind.services.throttle import LoginThrottle, account_digest

#: Failed sign-ins read for one report; past this the report says it was cut.
MAX_FAILED_LOGIN_EVENTS = 10_000
#: Rows per list in a failed-login report (the most failures first).
REPORT_ROWS = 100
UNKNOWN_ACCOUNT = "unknown"


@dataclass(frozen=True)
class RunView:
    run: RunRow
    age_s: float | None  # since queued (queued) or started (running)
    silent_s: float | None  # since the last heartbeat (running)


@dataclass
class AccountFailures:
    account: str  # a user id, or the digest of an email no account has
    email: str | None
    failures: int = 0
    addresses: set[str] = field(default_factory=set)
    reasons: Counter[str] = field(default_factory=Counter)
    first_at: datetime | None = None
    last_at: datetime | None = None
    locked: bool = False


@dataclass
class AddressFailures:
    address: str
    failures: int = 0
    accounts: set[str] = field(default_factory=set)
    first_at: datetime | None = None
    last_at: datetime | None = None
    locked: bool = False


@dataclass(frozen=True)
class FailedLogins:
    since: datetime
    failures: int
    truncated: bool
    accounts: list[AccountFailures]
    addresses: list[AddressFailures]


def aware(value: datetime | None) -> datetime | None:
    # SQLite returns times without a zone; they are stored in UTC
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """A time asked for, in UTC (naive: taken as UTC); the first or last time there is
    when converting it overflows (year 1 or 9999 with an offset)."""
    if value is None or value.tzinfo is None:
        return aware(value)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


def seconds_since(value: datetime | None, now: datetime) -> float | None:
    stamp = aware(value)
    return None if stamp is None else round((now - stamp).total_seconds(), 1)


def run_view(run: RunRow, now: datetime) -> RunView:
    since = run.queued_at if run.status == "queued" else run.started_at
    return RunView(run=run, age_s=seconds_since(since, now),
                   silent_s=seconds_since(run.heartbeat_at or run.started_at, now)
                   if run.status == "running" else None)


class AdminService:
    """Read-only views across organizations, in the caller's session."""

    def __init__(self, session: AsyncSession, platform: Platform) -> None:
        self.session = session
        self.platform = platform

    async def status(self) -> dict[str, Any]:
        """Version, database, cache, broker, encryption, and assessments by status."""
        from infra_mind.worker.queue import runs

        settings = self.platform.settings
        revision = await queries.migration_revision(self.session)
        head = head_revision(settings.database_url)
        by_status = await queries.assessments_by_status(self.session)
        return {
            "version": __version__,
            "environment": settings.environment,
            "database": {"dialect": self.platform.engine.dialect.name, "revision": revision,
                         "head": head, "up_to_date": revision == head},
            "cache": {"backend": self.platform.cache.name,
                      "status": "ok" if await self.platform.cache.ping() else "down"},
            "broker": {"kind": runs.kind, "status": await runs.ready()},
            "queue_depth": by_status.get("queued", 0),
            "assessments": {status: by_status.get(status, 0) for status in STATUSES},
            "job_timeout_s": settings.job_timeout_s,
            "workers": await self._workers(),
            "encryption": await self._encryption(),
        }

    async def _workers(self) -> list[dict[str, Any]]:
        """Processes that run tasks, seen lately (``kit.presence``; with REDIS_URL, every
        process; without, this one only)."""
        try:
            found = await seen_processes(self.platform.cache, workers_only=True)
        except Exception:  # the cache is down: the cache entry of the status says so
            return []
        keep = ("id", "role", "host", "pid", "started_at", "seen_at")
        return [{k: r.get(k) for k in keep} for r in found]

    async def _encryption(self) -> dict[str, Any]:
        """Which keys are in force, and how many values each key wrote (a rotation is
        done when every value is under the first key)."""
        try:
            keyring = keyring_from_settings(self.platform.settings)
        except CryptoError as exc:  # a broken key file in development
            return {"configured": False, "source": None, "keys": [], "values_by_key": {},
                    "problem": str(exc)}
        values: Counter[str] = Counter()
        for column in ENCRYPTED_COLUMNS:
            values.update(await count_by_key(self.session, column))
        if keyring is None:
            return {"configured": False, "source": None, "keys": [],
                    "values_by_key": dict(values)}
        return {"configured": True, "source": keyring.source, "keys": keyring.fingerprints,
                "values_by_key": dict(values)}

    async def queue(self, limit: int) -> dict[str, list[RunView]]:
        """Queued and running runs with their ages, the longest waiting first."""
        now = utcnow()
        return {status: [run_view(r, now) for r in
                         await queries.active_runs(self.session, status, limit)]
                for status in ("queued", "running")}

    async def stuck(self, older_than_s: int | None) -> tuple[int, dict[str, list[RunView]]]:
        """Running with no heartbeat, and queued, for longer than ``older_than_s``
        (default: the job timeout, after which the sweeper acts on them too)."""
        limit_s = older_than_s or self.platform.settings.job_timeout_s
        now = utcnow()
        cutoff = now - timedelta(seconds=limit_s)
        return limit_s, {
            "running": [run_view(r, now) for r in
                        await queries.silent_running(self.session, cutoff)],
            "queued": [run_view(r, now) for r in
                       await queries.waiting_queued(self.session, cutoff)]}

    async def audit(self, *, action: str | None, since: datetime | None, limit: int,
                    offset: int) -> tuple[list[AuditEvent], int]:
        items, total = await queries.audit_page(self.session, action=action,
                                                since=as_utc(since),
                                                limit=limit, offset=offset)
        return list(items), total

    async def failed_logins(self, since: datetime | None) -> FailedLogins:
        """Failed sign-ins per account and per client address since ``since`` (default:
        the last 24 hours), the most first, and whether each is locked out now."""
        start = as_utc(since) or utcnow() - timedelta(hours=24)
        events = await queries.events_since(self.session, "user.login_failed", start,
                                            MAX_FAILED_LOGIN_EVENTS)
        emails = await queries.emails_of(self.session,
                                         (e.actor_id for e in events if e.actor_id))
        accounts: dict[str, AccountFailures] = {}
        addresses: dict[str, AddressFailures] = {}
        for event in events:
            detail = event.detail or {}
            key = event.actor_id or str(detail.get("account") or UNKNOWN_ACCOUNT)
            account = accounts.setdefault(key, AccountFailures(key, emails.get(key)))
            address = event.client_address or "unknown"
            by_address = addresses.setdefault(address, AddressFailures(address))
            at = aware(event.created_at)
            for row in (account, by_address):
                row.failures += 1
                row.first_at = at if row.first_at is None or at < row.first_at else row.first_at
                row.last_at = at if row.last_at is None or at > row.last_at else row.last_at
            account.addresses.add(address)
            account.reasons[str(detail.get("reason", "unknown"))] += 1
            by_address.accounts.add(key)
        top_accounts = sorted(accounts.values(), key=lambda a: (-a.failures, a.account)
                              )[:REPORT_ROWS]
        top_addresses = sorted(addresses.values(), key=lambda a: (-a.failures, a.address)
                               )[:REPORT_ROWS]
        await self._mark_locked(top_accounts, top_addresses)
        return FailedLogins(since=start, failures=len(events),
                            truncated=len(events) == MAX_FAILED_LOGIN_EVENTS,
                            accounts=top_accounts, addresses=top_addresses)

    async def _mark_locked(self, accounts: list[AccountFailures],
                           addresses: list[AddressFailures]) -> None:
        """Whether the login throttle makes each account (from some address) and each
        address wait right now."""
        cache = self.platform.cache
        for account in accounts:
            if account.email is not None:
                digest = account_digest(account.email)
            elif account.account != UNKNOWN_ACCOUNT:
                digest = account.account  # the digest of an email no account has
            else:
                continue
            account.locked = await LoginThrottle.account_waiting(cache, digest)
        for address in addresses:
            address.locked = await LoginThrottle.address_waiting(cache, address.address)
