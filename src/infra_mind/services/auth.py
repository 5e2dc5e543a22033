"""Authentication use cases: register, sign in (throttled), rotate refresh tokens, sign out.

Tokens: a short-lived access token (stateless JWT) and a refresh token (JWT whose id is a
``refresh_tokens`` row). A refresh token is usable once: refreshing marks it used and
issues the next one in the same family; presenting a used token again revokes the whole
family, since either the user or a thief now holds a stolen token.

Transactions: the request owns its transaction and rolls it back when a use case raises.
What a *refusal* must leave behind (the ``user.login_failed`` audit event, the revoked
family of a reused token) is therefore written in its own short transaction
(``_own_transaction``), which commits before the error is raised. The refresh rotation runs
wholly in such a transaction: the claim of the old token, the new token and, when the claim
loses, the family's revocation commit together, so a concurrent loser revokes the winner's
new token too and no lock is held across two transactions (SQLite allows one writer).

Browser sessions use the same tokens: the refresh token travels in an HttpOnly cookie
instead of a JSON body (``api.auth``), and ``end_session`` signs one out by that cookie.

Registration answers the same whether the email is new or taken (no account enumeration):
both paths check the password policy, count against the address's registration budget,
hash the password (the same argon2 work) and write; a taken email's account is left
untouched and the attempt is audited. The caller then signs in.

Access (``current_access``): an authenticated request costs no SQL. What a user may do now
(active or not, their role in each organization) is kept in the platform cache for
``ACCESS_STATE_TTL_S`` and read from the database when the cache does not hold it; the
changes made here (``set_user_active``, ``set_membership``, ``remove_membership``) clear
it as soon as they commit. Revocations are cache markers that live as long as the access
tokens they refuse: signing out everywhere or deactivating a user refuses every access
token of the user issued until then; signing one session out, or a reused refresh token,
refuses that session's (refresh family's) access tokens. docs/ops/security.md says what
each change takes effect within.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.kit.db import session_scope
from infra_mind.kit.errors import DomainError, Invalid, NotAuthenticated, TooManyRequests
from infra_mind.kit.passwords import password_problem
from infra_mind.kit.platform import Platform
from infra_mind.kit.security import (
    HashCost,
    HashingBusy,
    PasswordHashing,
    TokenClaims,
    TokenError,
    decode_token,
    issue_token,
)
from infra_mind.kit.slots import Slot
from infra_mind.models import new_id, utcnow
from infra_mind.repositories import auth as users
from infra_mind.repositories.auth import OrganizationRole
from infra_mind.services import audit
from infra_mind.services.throttle import LoginThrottle, RegistrationThrottle, account_digest

INVALID_LOGIN = "invalid email or password"
INVALID_REFRESH = "invalid refresh token"
REFRESH_REUSED = "refresh token reuse detected; sign in again"
REFRESH_REVOKED = "refresh token revoked; sign in again"
REFRESH_EXPIRED = "refresh token expired; sign in again"
#: The answer to every registration that passes the checks, new email or taken: the
#: caller cannot tell which (an existing account keeps its own password).
REGISTRATION_ACCEPTED = ("registration accepted: sign in with this email and password (an "
                         "email already registered keeps its account and its password)")
HASHING_BUSY = "too many sign-ins and registrations at once; try again shortly"
#: Retry-After for HASHING_BUSY: the queue drains within seconds.
HASHING_BUSY_RETRY_S = 2
PERSONAL_ORG_SUFFIX = "'s organization"
ORGANIZATION_NAME_MAX_CHARS = 200
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires
    token_type: str = "bearer"


@dataclass(frozen=True)
class UserProfile:
    id: str
    email: str
    full_name: str
    organizations: list[OrganizationRole]


def _refused(message: str) -> NotAuthenticated:
    return NotAuthenticated(message, headers=dict(_CHALLENGE))


def personal_organization_name(full_name: str) -> str:
    """``"Ada Lovelace's organization"``, the name cut so the whole fits its column."""
    room = ORGANIZATION_NAME_MAX_CHARS - len(PERSONAL_ORG_SUFFIX)
    return full_name[:room].rstrip() + PERSONAL_ORG_SUFFIX


class ServerBusy(DomainError):
    """Every password-hashing slot of this process stayed taken (503, Retry-After)."""

    status_code = 503


#: The platform's password-hashing slots (``password_hashing``).
PASSWORD_HASHING: Slot[PasswordHashing] = Slot("password_hashing")


def password_hashing(platform: Platform) -> PasswordHashing:
    """This process's hashing slots (one per platform and loop, made on first use)."""
    hashing = platform.get(PASSWORD_HASHING)
    if hashing is None:
        cfg = platform.settings
        hashing = PasswordHashing(cfg.password_hash_concurrency, cfg.password_hash_wait_s,
                                  HashCost(cfg.password_hash_time_cost,
                                           cfg.password_hash_memory_kib,
                                           cfg.password_hash_parallelism))
        platform[PASSWORD_HASHING] = hashing
    return hashing


@asynccontextmanager
async def _hashing_slot(hashing: PasswordHashing) -> AsyncIterator[None]:
    try:
        async with hashing.slot():
            yield
    except HashingBusy:
        raise ServerBusy(HASHING_BUSY, headers={"Retry-After": str(HASHING_BUSY_RETRY_S)}
                         ) from None


class AuthService:
    """Authentication use cases over the request's session; never commits it."""

    def __init__(self, db: AsyncSession, platform: Platform) -> None:
        self.db = db
        self.platform = platform
        self.settings = platform.settings
        cfg = self.settings
        self.throttle = LoginThrottle(platform.cache, cfg.login_attempts, cfg.login_window_s,
                                      cfg.login_address_attempts, cfg.login_max_delay_s,
                                      first_delay_s=cfg.login_first_delay_s)
        self.registrations = RegistrationThrottle(platform.cache, cfg.register_attempts,
                                                  cfg.register_window_s)
        self.hashing = password_hashing(platform)

    @contextmanager
    def _throttle_counted(self, limit: str) -> Iterator[None]:
        """Count a throttle's refusal (429) in ``throttled_requests_total{limit}``: the
        throttles themselves only know the cache, not the process's metrics."""
        try:
            yield
        except TooManyRequests:
            self.platform.metrics.throttled.labels(limit=limit).inc()
            raise

    def _own_transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A separate transaction that commits even when the request is then refused."""
        return session_scope(self.platform.sessions)

    async def register(self, *, email: str, password: str, full_name: str,
                       client_address: str | None) -> None:
        """Create the user, a personal organization and the owner membership, unless the
        email is taken; either way the same work and the same (absent) answer."""
        email = email.lower()
        if why := password_problem(password, email):
            raise Invalid(f"password refused: {why}", problems=[f"body.password: {why}"])
        with self._throttle_counted("registration"):
            await self.registrations.admit(client_address)
        # hashed in both cases, so a taken email does not answer faster than a new one; and
        # first, so no database connection is held while waiting for a hashing slot
        async with _hashing_slot(self.hashing):
            password_hash = await asyncio.to_thread(self.hashing.hash, password)
        existing = await users.get_user_by_email(self.db, email)
        if existing is None:
            try:
                user, organization = await users.add_user_with_organization(
                    self.db, email=email, password_hash=password_hash, full_name=full_name,
                    organization_name=personal_organization_name(full_name), role="owner")
            except IntegrityError:  # a concurrent registration of the same email won
                await self.db.rollback()
                existing = await users.get_user_by_email(self.db, email)
            else:
                audit.record(self.db, action="user.registered", actor_id=user.id,
                             organization_id=organization.id, object_type="user",
                             object_id=user.id, client_address=client_address)
                return
        # the account is left as it is; the attempt is on record for its owner and admins
        audit.record(self.db, action="user.register_existing", actor_id=None,
                     object_type="user", object_id=existing.id if existing else None,
                     client_address=client_address,
                     detail={"account": account_digest(email)})

    async def login(self, *, email: str, password: str,
                    client_address: str | None) -> IssuedTokens:
        """Check the password and start a new refresh-token family."""
        email = email.lower()
        with self._throttle_counted("login"):
            await self.throttle.admit(email, client_address)
        async with _hashing_slot(self.hashing):
            # a delay the address earned while this guess queued for a slot applies to it
            with self._throttle_counted("login"):
                await self.throttle.check_address(client_address)
            # read in the slot: no database connection is held while waiting for one
            user = await users.get_user_by_email(self.db, email)
            # an unknown email still verifies (against a dummy hash): same answer, same time
            matches = await asyncio.to_thread(self.hashing.verify,
                                              user.password_hash if user else None, password)
        if user is None or not matches or not user.is_active:
            await self.throttle.failed(client_address)
            reason = ("unknown email" if user is None else
                      "wrong password" if not matches else "inactive account")
            self.platform.metrics.failed_logins.labels(reason=reason.replace(" ", "_")).inc()
            async with self._own_transaction() as session:
                audit.record(session, action="user.login_failed",
                             actor_id=user.id if user else None, object_type="user",
                             object_id=user.id if user else None,
                             client_address=client_address,
                             detail={"reason": reason, "account": account_digest(email)})
            raise _refused(INVALID_LOGIN)
        await self.throttle.succeeded(email, client_address)
        tokens = await self._issue(self.db, user_id=user.id, family_id=new_id(), now=utcnow())
        audit.record(self.db, action="user.login", actor_id=user.id, object_type="user",
                     object_id=user.id, client_address=client_address)
        return tokens

    async def refresh(self, *, refresh_token: str, client_address: str | None) -> IssuedTokens:
        """Exchange a refresh token, once, for a new pair in the same family."""
        claims = self._decode(refresh_token, "refresh")
        if not claims.family_id:
            raise _refused(INVALID_REFRESH)
        now = utcnow()
        async with self._own_transaction() as session:
            if await users.claim_refresh_token(session, token_id=claims.token_id,
                                               user_id=claims.subject,
                                               family_id=claims.family_id, now=now):
                user = await users.get_user(session, claims.subject)
                if user is not None and user.is_active:
                    return await self._issue(session, user_id=user.id,
                                             family_id=claims.family_id, now=now)
                refusal = INVALID_REFRESH
            else:
                refusal = await self._refuse_refresh(session, claims, now, client_address)
        raise _refused(refusal)

    async def _refuse_refresh(self, session: AsyncSession, claims: TokenClaims,
                              now: datetime, client_address: str | None) -> str:
        """Why a claim matched nothing; a used token revokes its family (in ``session``)."""
        row = await users.get_refresh_token(session, claims.token_id)
        if row is None or row.user_id != claims.subject or row.family_id != claims.family_id:
            return INVALID_REFRESH
        if row.revoked_at is not None:
            return REFRESH_REVOKED
        if row.used_at is not None:
            revoked = await users.revoke_family(session, family_id=row.family_id, now=now)
            await revoke_session_access(self.platform, row.family_id)
            self.platform.metrics.refresh_reuse.inc()
            audit.record(session, action="user.refresh_reused", actor_id=row.user_id,
                         object_type="refresh_token_family", object_id=row.family_id,
                         client_address=client_address, detail={"revoked_tokens": revoked})
            return REFRESH_REUSED
        return REFRESH_EXPIRED

    async def logout(self, *, user_id: str, refresh_token: str | None,
                     client_address: str | None) -> None:
        """Revoke the given token's family, or every refresh token of the user, and the
        access tokens of that session, or every access token of the user issued so far.
        """
        now = utcnow()
        if refresh_token is None:
            scope = "all sessions"
            revoked = await users.revoke_user_tokens(self.db, user_id=user_id, now=now)
            await revoke_access_tokens(self.platform, user_id, now)
        else:
            claims = self._decode(refresh_token, "refresh")
            if claims.subject != user_id or not claims.family_id:
                raise _refused(INVALID_REFRESH)
            scope = "one session"
            revoked = await users.revoke_family(self.db, family_id=claims.family_id, now=now,
                                                user_id=user_id)
            await revoke_session_access(self.platform, claims.family_id)
        audit.record(self.db, action="user.logout", actor_id=user_id, object_type="user",
                     object_id=user_id, client_address=client_address,
                     detail={"scope": scope, "revoked_tokens": revoked})

    async def end_session(self, *, refresh_token: str | None,
                          client_address: str | None) -> None:
        """Sign a browser session out: revoke the family of its refresh token (the cookie).

        The cookie is the session's only credential, so no access token is asked for. A
        missing, forged or expired token revokes nothing and is not an error: the caller
        clears the cookie either way, and signing out always succeeds for the browser.
        """
        if not refresh_token:
            return
        try:
            claims = decode_token(self.settings.secret(), refresh_token, "refresh")
        except TokenError:
            return
        if not claims.family_id:
            return
        revoked = await users.revoke_family(self.db, family_id=claims.family_id, now=utcnow(),
                                            user_id=claims.subject)
        await revoke_session_access(self.platform, claims.family_id)
        audit.record(self.db, action="user.logout", actor_id=claims.subject,
                     object_type="user", object_id=claims.subject,
                     client_address=client_address,
                     detail={"scope": "browser session", "revoked_tokens": revoked})

    async def profile(self, user_id: str) -> UserProfile:
        """The user and their role in each organization (the one read of the user's row:
        authentication itself does not load it)."""
        user = await users.get_user(self.db, user_id)
        if user is None:  # deleted since its access was last read
            raise _refused("not authenticated")
        return UserProfile(id=user.id, email=user.email, full_name=user.full_name,
                           organizations=await users.organizations_of(self.db, user.id))

    def _decode(self, token: str, kind: str) -> TokenClaims:
        try:
            return decode_token(self.settings.secret(), token, kind)
        except TokenError:
            raise _refused(INVALID_REFRESH if kind == "refresh" else "invalid token") from None

    async def _issue(self, session: AsyncSession, *, user_id: str, family_id: str,
                     now: datetime) -> IssuedTokens:
        secret = self.settings.secret()
        # the access token names its session, so signing that session out refuses it
        access_token, _ = issue_token(secret, subject=user_id, kind="access",
                                      ttl_s=self.settings.access_token_ttl_s,
                                      family_id=family_id, now=now)
        refresh_token, claims = issue_token(secret, subject=user_id, kind="refresh",
                                            ttl_s=self.settings.refresh_token_ttl_s,
                                            family_id=family_id, now=now)
        await users.add_refresh_token(session, token_id=claims.token_id, user_id=user_id,
                                      family_id=family_id, expires_at=claims.expires_at)
        return IssuedTokens(access_token=access_token, refresh_token=refresh_token,
                            expires_in=self.settings.access_token_ttl_s)


# --- access: what a valid access token's user may do, now ---------------------------------

#: How long a user's state (active or not, roles) is served from the cache. The changes
#: below clear it once committed; this bounds the rest: a change made around them (SQL by
#: hand, a restore), one made by another process when the cache is per process (no
#: REDIS_URL, or Redis unreachable), and a request that read the old state just before a
#: change committed and cached it just after.
ACCESS_STATE_TTL_S = 30
#: What a member of an organization can be (``services.assessments`` says what each may do).
ROLES = ("owner", "admin", "member", "viewer")
#: Revocation markers outlive the access tokens they refuse by this much (clock skew
#: between the process that revokes and the one that issued).
REVOCATION_MARGIN_S = 60


@dataclass(frozen=True)
class Access:
    """A user allowed in now, and their role in each organization."""

    user_id: str
    roles: Mapping[str, str]  # organization id -> role
    #: The values of the keys the caller asked to read along (``current_access``'s
    #: ``ahead``), as the same cache read found them; a key it did not read is absent.
    read_ahead: Mapping[str, str | None] = field(default_factory=dict)


def _state_key(user_id: str) -> str:
    return f"access:user:{user_id}"


def _revoked_user_key(user_id: str) -> str:
    return f"access:revoked-user:{user_id}"


def _revoked_session_key(family_id: str) -> str:
    return f"access:revoked-session:{family_id}"


async def current_access(platform: Platform, db: AsyncSession, claims: TokenClaims,
                         ahead: Callable[[TokenClaims, Mapping[str, str] | None],
                                         Sequence[str]] | None = None) -> Access | None:
    """What a valid access token's user may do now; None when nothing: the user is gone or
    inactive, or the token was revoked (signed out everywhere or deactivated since it was
    issued, its session signed out, its refresh family caught being reused).

    One cache read (one MGET on Redis) and no SQL when the cache holds the user's state;
    one statement when it does not. ``ahead(claims, roles)`` names more keys to read in
    the same MGET (``Access.read_ahead``), for a request that will read them next: its
    one round trip to Redis then does for both. ``roles`` is what this process last saw
    of the user's roles (None: nothing yet), for keys that depend on them; the caller
    uses a value only for a key it needs given the roles now.
    """
    keys = [_state_key(claims.subject), _revoked_user_key(claims.subject)]
    if claims.family_id:
        keys.append(_revoked_session_key(claims.family_id))
    fixed = len(keys)
    seen = platform.get(ROLES_SEEN)
    if ahead is not None:
        keys.extend(ahead(claims, seen.get(claims.subject) if seen is not None else None))
    values = await platform.cache.get_many(keys)
    state, revoked_until, *session_revoked = values[:fixed]
    if revoked_until is not None and claims.issued_at < float(revoked_until):
        return None
    if session_revoked and session_revoked[0] is not None:
        return None
    if state is None:
        state = await _read_state(platform, db, claims.subject)
    known = json.loads(state)
    if not known["active"]:
        return None
    if ahead is not None:
        if seen is None:
            seen = platform[ROLES_SEEN] = RolesSeen()
        seen.saw(claims.subject, known["roles"])
    return Access(claims.subject, known["roles"],
                  dict(zip(keys[fixed:], values[fixed:], strict=True)))


#: This process's reads of a user's state in flight, by user id.
STATE_READS: Slot[dict[str, asyncio.Future[str]]] = Slot("access_state_reads")


async def _read_state(platform: Platform, db: AsyncSession, user_id: str) -> str:
    """The user's state from the database, cached for ``ACCESS_STATE_TTL_S``; one read per
    user at a time in this process, which the requests that find the state gone meanwhile
    wait on. Under 50 concurrent requests of one user, the state expiring every 30 s sent
    each of them to the database at once: a pile of SQLite statements behind one another,
    and the list's p99 over 100 ms in the runs that met an expiry (11-18 ms otherwise).

    A request that joins a read sees what that read finds, as the request that started
    it does: the same bound as before, a change committed while the read is in flight is
    served until the state expires. Where the read that others wait on is cancelled (its
    request went away), each of them reads for itself."""
    reads = platform.get(STATE_READS)
    if reads is None:
        reads = platform[STATE_READS] = {}
    pending = reads.get(user_id)
    if pending is not None:
        try:
            return await asyncio.shield(pending)
        except asyncio.CancelledError:
            if not pending.cancelled():
                raise  # this request was cancelled, not the read it waited on
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    reads[user_id] = future
    try:
        found = await users.access_of(db, user_id)
        active, roles = found if found is not None else (False, {})
        state = json.dumps({"active": active, "roles": roles})
        await platform.cache.set(_state_key(user_id), state, ACCESS_STATE_TTL_S)
    except BaseException as exc:
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(exc)
            future.exception()  # retrieved here: no "never retrieved" warning without waiters
        raise
    else:
        future.set_result(state)
        return state
    finally:
        if reads.get(user_id) is future:
            del reads[user_id]


class RolesSeen:
    """The roles this process last saw per user, for ``current_access``'s callers to name
    the keys a user's next read will need before the read that says the roles now. Only
    a guess: a key named from old roles is simply not the key the request then needs.
    At most ``max_users``; past that it starts again."""

    max_users = 10_000

    def __init__(self) -> None:
        self._roles: dict[str, Mapping[str, str]] = {}

    def get(self, user_id: str) -> Mapping[str, str] | None:
        return self._roles.get(user_id)

    def saw(self, user_id: str, roles: Mapping[str, str]) -> None:
        if len(self._roles) >= self.max_users and user_id not in self._roles:
            self._roles.clear()
        self._roles[user_id] = roles


#: This process's ``RolesSeen``.
ROLES_SEEN: Slot[RolesSeen] = Slot("roles_seen")


def _revocation_ttl_s(platform: Platform) -> int:
    return platform.settings.access_token_ttl_s + REVOCATION_MARGIN_S


async def revoke_access_tokens(platform: Platform, user_id: str, now: datetime) -> None:
    """Refuse every access token of the user issued up to ``now``."""
    await platform.cache.set(_revoked_user_key(user_id), f"{now.timestamp():.3f}",
                             _revocation_ttl_s(platform))


async def revoke_session_access(platform: Platform, family_id: str) -> None:
    """Refuse every access token of one session (refresh-token family)."""
    await platform.cache.set(_revoked_session_key(family_id), "1",
                             _revocation_ttl_s(platform))


async def forget_access(platform: Platform, user_id: str) -> None:
    """Drop the user's cached state, so the next request reads it from the database."""
    await platform.cache.delete(_state_key(user_id))


async def set_user_active(platform: Platform, user_id: str, active: bool, *,
                          actor_id: str | None = None,
                          client_address: str | None = None) -> bool:
    """Activate or deactivate a user, in its own transaction; False when there is no such
    user. Deactivating also revokes every refresh and access token, so reactivating the
    account does not bring an old session back."""
    now = utcnow()
    async with session_scope(platform.sessions) as session:
        if not await users.set_active(session, user_id, active):
            return False
        revoked = 0 if active else await users.revoke_user_tokens(session, user_id=user_id,
                                                                  now=now)
        audit.record(session, action="user.activated" if active else "user.deactivated",
                     actor_id=actor_id, object_type="user", object_id=user_id,
                     client_address=client_address,
                     detail=None if active else {"revoked_tokens": revoked})
    if not active:
        await revoke_access_tokens(platform, user_id, now)
    await forget_access(platform, user_id)
    return True


async def set_membership(platform: Platform, *, user_id: str, organization_id: str,
                         role: str, actor_id: str | None = None,
                         client_address: str | None = None) -> None:
    """Give a user ``role`` in an organization (join it, or change role), in its own
    transaction; the user's next request has the new role."""
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    async with session_scope(platform.sessions) as session:
        await users.set_membership(session, user_id=user_id, organization_id=organization_id,
                                   role=role)
        audit.record(session, action="membership.set", actor_id=actor_id,
                     organization_id=organization_id, object_type="user", object_id=user_id,
                     client_address=client_address, detail={"role": role})
    await forget_access(platform, user_id)


async def remove_membership(platform: Platform, *, user_id: str, organization_id: str,
                            actor_id: str | None = None,
                            client_address: str | None = None) -> bool:
    """Take a user out of an organization, in its own transaction; from their next request
    on, its objects are "not found" to them. False when they were not a member."""
    async with session_scope(platform.sessions) as session:
        removed = await users.remove_membership(session, user_id=user_id,
                                                organization_id=organization_id)
        if removed:
            audit.record(session, action="membership.removed", actor_id=actor_id,
                         organization_id=organization_id, object_type="user",
                         object_id=user_id, client_address=client_address)
    await forget_access(platform, user_id)
    return removed


async def is_platform_admin(db: AsyncSession, user_id: str) -> bool:
    """Whether the user sees the admin routes: read from the database on each admin
    request (rare), so a grant or revocation by ``infra-mind admin`` applies at once."""
    return await users.is_platform_admin(db, user_id)
