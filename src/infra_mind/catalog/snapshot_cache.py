"""A cache of parsed snapshots, so that a command does not parse the same file every run.

Parsing and checking the bundled snapshot (``snapshot.read_snapshot``) costs about
100 ms, a fifth of an ``infra-mind assess``; reading back what they produced, stored
with ``marshal``, costs about a quarter of that. ``Catalog.load`` reads through this cache,
kept in ``default_cache_dir()``: ``$XDG_CACHE_HOME/infra-mind/catalog``, else
``~/.cache/infra-mind/catalog``. Deleting it, whole or in part, only costs the next load
the parse.

The JSON file stays the only source of prices:

- an entry is named by a SHA-256 of the file's identity (device, inode, size, and the
  nanosecond times of its last write and last change, as Python keys its own bytecode
  cache on a source's time and size) and of the code that checks a snapshot and lays an
  entry out (``snapshot.py``, ``model.py``, this module) and the Python that marshals it:
  an edited or replaced snapshot, or changed checks, never read an old entry. Any write
  sets a file's change time to the moment of writing, and no call sets it back; a file
  changed less than ``SETTLED_S`` ago is not cached yet, so that a second write within
  one tick of a coarse file-system clock cannot keep the times its entry was named by
  (git's "racily clean" files). The JSON is not read at all when its entry is found;
- an entry holds only what loading those bytes made (``PriceTable.plain``), and reading
  it makes the same table (``tests/catalog/test_snapshot_cache.py`` compares them);
- an entry is written only after its snapshot passed every check, so a refused file is
  refused on every load, with the same message;
- an entry that does not name its key, fails its checksum or does not unpack is read
  past: the JSON is parsed, and the entry written again.

Entries are written atomically (a temporary file renamed over the entry), only for
snapshots over ``CACHE_MIN_BYTES`` (a small one parses in a few milliseconds), and a
directory keeps the ``CACHE_ENTRIES`` most recently written. A cache directory that
cannot be created or written is skipped: loading works as without one.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
import sys
import tempfile
import time
import zlib
from datetime import date
from functools import cache
from pathlib import Path

from infra_mind.catalog.snapshot import (
    PriceTable,
    Snapshot,
    gc_paused,
    parse_snapshot,
    read_snapshot,
    snapshot_bytes,
)

#: A snapshot smaller than this is not cached: it parses in a few milliseconds.
CACHE_MIN_BYTES = 1_000_000
#: The entries a cache directory keeps (the most recently written).
CACHE_ENTRIES = 4
#: What an entry's file name ends with; nothing else in the directory is an entry.
SUFFIX = ".marshal"
_MAGIC = b"infra-mind snapshot cache\n"
#: A snapshot changed less than this long ago is not cached yet (seconds): more than the
#: coarsest clock of a common file system (FAT's two seconds).
SETTLED_S = 3.0
#: A temporary file this old was left by a process that died while writing it.
_STALE_TMP_S = 3600


def default_cache_dir() -> Path | None:
    """Where ``Catalog.load`` keeps parsed snapshots: ``$XDG_CACHE_HOME/infra-mind/catalog``,
    else ``~/.cache/infra-mind/catalog``; None when there is no home directory.

    Read from the environment, not the settings: the XDG base directory convention that
    every tool shares, and the catalog commands load no settings, to start fast.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, or relative: the convention says ignore it
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return Path(base) / "infra-mind" / "catalog"


def load_snapshot(path: Path | str, cache_dir: Path | str | None) -> Snapshot:
    """``snapshot.read_snapshot(path)``, through the cache in ``cache_dir`` (None: none).

    The same snapshot, or the same ``CatalogError``, as reading the file without a cache.
    """
    path = Path(path)
    try:
        seen = path.stat() if cache_dir is not None else None
    except OSError:
        seen = None  # read_snapshot refuses it, in its words
    key = (_key(seen) if seen is not None and stat.S_ISREG(seen.st_mode)
           and seen.st_size >= CACHE_MIN_BYTES else None)
    if cache_dir is None or seen is None or key is None:
        return read_snapshot(path)
    entry = Path(cache_dir) / f"{key.hex()}{SUFFIX}"
    with gc_paused():  # the tens of thousands of values an entry holds all live on
        cached = _read(entry, key)
    if cached is not None:
        return cached
    snapshot = parse_snapshot(snapshot_bytes(path), path)
    if _settled(path, seen):
        _write(entry, key, snapshot)
    return snapshot


def _identity(seen: os.stat_result) -> bytes:
    return (f"{seen.st_dev}\0{seen.st_ino}\0{seen.st_size}\0{seen.st_mtime_ns}\0"
            f"{seen.st_ctime_ns}").encode()


def _settled(path: Path, seen: os.stat_result) -> bool:
    """Whether the file still is the one ``seen`` described (so the bytes parsed are its
    bytes) and was last changed more than ``SETTLED_S`` ago."""
    try:
        now = path.stat()
    except OSError:
        return False
    last_change = max(now.st_mtime_ns, now.st_ctime_ns)
    return (_identity(now) == _identity(seen)
            and time.time_ns() - last_change > SETTLED_S * 1_000_000_000)


@cache
def _code() -> bytes | None:
    """A digest of the code an entry depends on; None (no cache) when it cannot be read."""
    digest = hashlib.sha256(f"{sys.version}\0{marshal.version}\0".encode())
    here = Path(__file__).parent
    try:
        for module in ("snapshot.py", "model.py", Path(__file__).name):
            digest.update(here.joinpath(module).read_bytes())
    except OSError:
        return None
    return digest.digest()


def _key(seen: os.stat_result) -> bytes | None:
    code = _code()
    return hashlib.sha256(code + _identity(seen)).digest() if code is not None else None


def _read(entry: Path, key: bytes) -> Snapshot | None:
    """The snapshot kept under ``entry``, or None: no entry, or one that is damaged."""
    try:
        blob = entry.read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + len(key) + 4
    if len(blob) < head or blob[:head - 4] != _MAGIC + key:
        return None
    payload = memoryview(blob)[head:]
    if zlib.crc32(payload) != int.from_bytes(blob[head - 4:head], "big"):
        return None
    try:
        generated_at, notes, table = marshal.loads(payload)
        return Snapshot(table=PriceTable.from_plain(table),
                        generated_at=date.fromisoformat(generated_at), notes=notes)
    except Exception:  # whatever an entry this code did not write holds: parse the JSON
        return None


def _write(entry: Path, key: bytes, snapshot: Snapshot) -> None:
    """Keep ``snapshot`` under ``entry``, atomically; skipped when it cannot be written (a
    read-only home, a full disk). Not synced to disk: an entry cut short by a crash fails
    its checksum, and is read past."""
    try:
        payload = marshal.dumps((snapshot.generated_at.isoformat(), snapshot.notes,
                                 snapshot.table.plain()))
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_MAGIC + key + zlib.crc32(payload).to_bytes(4, "big"))
                fh.write(payload)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _evict(entry.parent)
    except (OSError, ValueError):  # ValueError: a value marshal cannot store
        return


def _evict(directory: Path) -> None:
    """Keep the ``CACHE_ENTRIES`` most recently written entries; remove what a process
    that died while writing left behind."""
    now = time.time()
    entries = []
    for path in directory.iterdir():
        try:
            written = path.stat().st_mtime
        except OSError:
            continue  # removed by another process meanwhile
        if path.suffix == SUFFIX:
            entries.append((written, path.name, path))
        elif path.name.startswith(".") and path.suffix == ".tmp" \
                and now - written > _STALE_TMP_S:
            path.unlink(missing_ok=True)
    for _written, _name, path in sorted(entries, reverse=True)[CACHE_ENTRIES:]:
        path.unlink(missing_ok=True)
