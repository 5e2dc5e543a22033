"""What the platform cache holds of assessments, so that hot reads run no SQL.

Two kinds of entry, each written from what the database said and kept true by every
writer once its transaction commits (``kit.pubsub.on_commit``):

- **Access**, per assessment: its organization and its newest result's version
  (``"<version> <organization id>"``; version 0: no result yet). A reader whose roles
  include that organization reads the result (``result-json:<id>:<version>``) without
  asking the database; anyone else gets "not found", as the SQL path answers. A reader
  that missed asks the database and *adds* the entry (SET NX); a writer *raises* it
  (``Cache.set_if_higher``: the version is the rank) when a run stores a result, and a
  deletion leaves a tombstone that outranks every version. So a reader that read before
  a change and writes after it cannot put the old news back, nor bring a deleted
  assessment back; a deleted assessment is "not found" as soon as its deletion commits.
  The organization never changes (no route moves an assessment).
- **Lists**, per (organization roles, query): the page as served, tagged with the
  *generation* of each organization it lists. Every write to an organization's
  assessments (create, edit, delete, run requested, each status or progress change, a
  result, a cancel) deletes that organization's generation once committed; the next
  reader makes a new one (a random token, so an old one never comes back) before it
  reads the database. A list is served when its tags are the generations now: one cache
  read for both. A list written from a read that began before a change is tagged with
  the generation the change replaced, so it is never served.

The entries are trusted only when every process that writes assessments writes to the
same cache (``trusted``): Redis that answers, or the one process of a deployment without
Redis (``SERVER_WORKERS`` 1: its runs run in-process). Several processes on their own
memory read the database every time. An operator's ``clear-stuck-workflows`` goes
through the same sweeper as the worker (``repositories.stale_runs``) and drops the lists
it changes; without Redis its process cannot reach the API's memory, and lists there
show the change within ``LIST_TTL_S``.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.kit.cache import Cache
from infra_mind.kit.platform import Platform
from infra_mind.kit.pubsub import on_commit

#: An access entry lives this long after its last write (a deletion's tombstone twice as
#: long, outliving any entry a slow reader could add after it).
ACCESS_TTL_S = 3600
GONE_TTL_S = 2 * ACCESS_TTL_S
#: Outranks every result version: a deleted assessment stays deleted.
GONE_RANK = 10**15
GONE = f"{GONE_RANK} -"
#: A list lives this long (its generations make it stale sooner).
LIST_TTL_S = 60
#: A generation lives this long after it was made; one that expires is made anew (and
#: the lists tagged with the old one are not served).
GENERATION_TTL_S = 86_400


@dataclass(frozen=True)
class AccessEntry:
    """What the cache knows of an assessment: its organization (None: deleted) and its
    newest result's version (0: none yet)."""

    organization_id: str | None
    version: int


def access_key(assessment_id: str) -> str:
    return f"assessment-access:{assessment_id}"


def generation_key(organization_id: str) -> str:
    return f"assessment-generation:{organization_id}"


def list_key(roles: Mapping[str, str], query: Sequence[object]) -> str:
    """The key of a list for these roles and query parameters (hashed: a user may
    belong to many organizations). Organization ids and roles hold no ``=``, ``;`` or
    ``|``, nor do the query's values (a status, numbers). A list read names its keys
    twice (read along with the user's state, then to read them): remembered."""
    return _list_key(tuple(roles.items()), tuple(query))


@functools.lru_cache(maxsize=4096)
def _list_key(roles: tuple[tuple[str, str], ...], query: tuple[object, ...]) -> str:
    named = ";".join(f"{o}={r}" for o, r in sorted(roles)) + "|" + "|".join(map(str, query))
    return f"assessment-list:{hashlib.sha256(named.encode()).hexdigest()[:40]}"


def access_value(organization_id: str, version: int | None) -> str:
    return f"{version or 0} {organization_id}"


def parse_access(value: str | None) -> AccessEntry | None:
    if value is None:
        return None
    rank, _, organization_id = value.partition(" ")
    if int(rank) >= GONE_RANK:
        return AccessEntry(None, 0)
    return AccessEntry(organization_id, int(rank))


def trusted(platform: Platform) -> bool:
    """Whether this process may answer from access entries and cached lists: every
    process that writes assessments writes to this cache (module docstring)."""
    if platform.settings.redis_url:
        return platform.cache.shared
    return platform.settings.server_workers <= 1


# -- readers (each answers None where the cache is not trusted, before or after it read:
# -- a Redis that failed during the read answered from this process's memory) -----------


#: No values read ahead.
NOTHING_AHEAD: Mapping[str, str | None] = MappingProxyType({})


async def access_entry(platform: Platform, assessment_id: str,
                       ahead: Mapping[str, str | None] = NOTHING_AHEAD) -> AccessEntry | None:
    """The entry, from ``ahead`` when the request's first cache read took it along
    (``services.auth.current_access``), else read now."""
    if not trusted(platform):
        return None
    key = access_key(assessment_id)
    value = ahead[key] if key in ahead else await platform.cache.get(key)
    return parse_access(value) if trusted(platform) else None


async def add_access(platform: Platform, assessment_id: str, organization_id: str,
                     version: int | None) -> None:
    """What a reader found in the database, unless a writer (or another reader) got
    there first: then theirs is as new or newer."""
    if trusted(platform):
        await platform.cache.add(access_key(assessment_id),
                                 access_value(organization_id, version), ACCESS_TTL_S)


def list_keys(roles: Mapping[str, str], query: Sequence[object]) -> list[str]:
    """What a list read asks the cache for: each organization's generation, then the
    list itself."""
    return [*(generation_key(o) for o in sorted(set(roles))), list_key(roles, query)]


async def cached_list(platform: Platform, roles: Mapping[str, str], query: Sequence[object],
                      ahead: Mapping[str, str | None] = NOTHING_AHEAD
                      ) -> tuple[bytes | None, list[str | None]]:
    """(the list as served, if its generations are the current ones; the current
    generations): one cache read, or none when the request's first read took these
    keys along (``services.auth.current_access``)."""
    keys = list_keys(roles, query)
    if all(k in ahead for k in keys):
        values = [ahead[k] for k in keys]
    else:
        values = await platform.cache.get_many(keys)
    *generations, cached = values
    if cached is not None and None not in generations and trusted(platform):
        tags, _, body = cached.partition("\n")
        if tags == ",".join(generations):  # type: ignore[arg-type]
            return body.encode(), generations
    return None, generations


async def current_generations(cache: Cache, organization_ids: Sequence[str],
                              generations: list[str | None]) -> list[str] | None:
    """The generations to tag a list with, read before the database is: those there
    now, a new one made where none is. None when the cache keeps none (unreachable)."""
    missing = [o for o, g in zip(organization_ids, generations, strict=True) if g is None]
    if not missing:
        return generations  # type: ignore[return-value]
    for organization_id in missing:
        await cache.add(generation_key(organization_id), uuid.uuid4().hex, GENERATION_TTL_S)
    again = await cache.get_many([generation_key(o) for o in organization_ids])
    return None if None in again else again  # type: ignore[return-value]


async def store_list(cache: Cache, key: str, generations: Sequence[str], body: bytes) -> None:
    await cache.set(key, ",".join(generations) + "\n" + body.decode(), LIST_TTL_S)


# -- writers: after their transaction commits ---------------------------------------------


def changed_on_commit(session: AsyncSession, cache: Cache, organization_id: str) -> None:
    """An assessment of ``organization_id`` changed: its lists are stale once committed."""
    on_commit(session, lambda: cache.delete(generation_key(organization_id)))


def result_on_commit(session: AsyncSession, cache: Cache, assessment_id: str,
                     organization_id: str, version: int) -> None:
    """A result ``version`` was stored: served from the commit on (never over a newer
    version or a deletion), and the organization's lists show its recommendation."""
    async def write() -> None:
        await cache.set_if_higher(access_key(assessment_id),
                                  access_value(organization_id, version), ACCESS_TTL_S)
        await cache.delete(generation_key(organization_id))

    on_commit(session, write)


def deleted_on_commit(session: AsyncSession, cache: Cache, assessment_id: str,
                      organization_id: str) -> None:
    """An assessment was deleted: "not found" from the commit on, to everyone."""
    async def write() -> None:
        await cache.set_if_higher(access_key(assessment_id), GONE, GONE_TTL_S)
        await cache.delete(generation_key(organization_id))

    on_commit(session, write)
