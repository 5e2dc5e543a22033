"""The cache of parsed snapshots (``catalog.snapshot_cache``): a load through it makes the
table that parsing the JSON makes; an entry serves only the file it was made from, as it
was; a damaged entry is read past; a refused file is refused every time and never cached.

The files here are written by the tests, so they are fresh: ``SETTLED_S`` is 0 except where
a test says otherwise."""

from __future__ import annotations

import json
import marshal
import os
import re
import shutil
import time
import zlib
from datetime import date
from pathlib import Path

import pytest

from infra_mind.catalog import snapshot_cache
from infra_mind.catalog.model import CatalogError
from infra_mind.catalog.snapshot import BUNDLED_PATH, Snapshot, read_snapshot, write_snapshot
from infra_mind.catalog.snapshot_cache import (
    CACHE_MIN_BYTES,
    SUFFIX,
    default_cache_dir,
    load_snapshot,
)
from infra_mind.catalog.store import Catalog, _Index
from tests.factories import make_row


def state(snapshot: Snapshot) -> tuple:
    """Everything a loaded snapshot holds: its columns, the rows built so far, the groups
    an index is made of, and the type of every price (an int stays an int)."""
    t = snapshot.table
    return (snapshot.generated_at, snapshot.notes, t.products, t.product_of, t.regions,
            t.options, t._built, t._complete, t._prices, [type(p) for p in t._prices],
            t._source_of, t._tier_starts, t._tier_ends, t._rule_of, list(t._sources),
            t._derived, t.family_groups())


def index_fields(snapshot: Snapshot) -> list:
    index = _Index.build(snapshot.table)
    return [getattr(index, name) for name in index.__slots__] + [list(index.groups)]


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob(f"*{SUFFIX}")) if cache.is_dir() else []


@pytest.fixture(autouse=True)
def _settled_at_once(monkeypatch):
    monkeypatch.setattr(snapshot_cache, "SETTLED_S", 0)


@pytest.fixture
def big(tmp_path) -> Path:
    """A copy of the bundled snapshot (large enough to be cached)."""
    path = tmp_path / "snapshot.json"
    shutil.copyfile(BUNDLED_PATH, path)
    assert path.stat().st_size >= CACHE_MIN_BYTES
    return path


def never_parse(data, path):
    raise AssertionError("the JSON was parsed")


def test_a_load_through_the_cache_makes_the_table_the_json_makes(big, tmp_path):
    cache = tmp_path / "cache"
    fresh = read_snapshot(big)
    first = load_snapshot(big, cache)  # parses, writes the entry
    assert len(entries(cache)) == 1
    again = load_snapshot(big, cache)  # reads the entry
    assert state(again) == state(first) == state(fresh)
    assert index_fields(again) == index_fields(fresh)
    assert again.table.all_rows() == fresh.table.all_rows()


def test_an_entry_spares_reading_and_parsing_the_json(big, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    fresh = load_snapshot(big, cache)
    monkeypatch.setattr(snapshot_cache, "parse_snapshot", never_parse)
    monkeypatch.setattr(snapshot_cache, "snapshot_bytes", never_parse)
    assert state(load_snapshot(big, cache)) == state(fresh)


def test_a_file_changed_moments_ago_is_cached_once_it_has_settled(big, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setattr(snapshot_cache, "SETTLED_S", 3.0)  # as shipped
    assert state(load_snapshot(big, cache)) == state(read_snapshot(big))
    assert entries(cache) == []  # copied just now: a second write could keep its times
    monkeypatch.setattr(snapshot_cache, "SETTLED_S", 0.2)
    time.sleep(0.3)
    load_snapshot(big, cache)
    assert len(entries(cache)) == 1


def test_an_edited_snapshot_never_reads_the_old_entry(big, tmp_path):
    cache = tmp_path / "cache"
    before = load_snapshot(big, cache)
    times = big.stat()
    text = big.read_text()
    # one digit of the first on-demand price: same size, and the old times put back, so
    # only the bytes tell the two files apart
    match = re.search(r'"on_demand",0\.(\d)', text)
    assert match is not None
    digit = match.group(1)
    edited = text[:match.start(1)] + ("2" if digit != "2" else "3") + text[match.end(1):]
    big.write_text(edited)
    os.utime(big, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert big.stat().st_size == times.st_size
    after = load_snapshot(big, cache)
    assert state(after) == state(read_snapshot(big))
    assert after.table._prices != before.table._prices
    assert len(entries(cache)) == 2


def corrupt_payload(blob: bytes) -> bytes:
    middle = len(blob) // 2
    return blob[:middle] + bytes([blob[middle] ^ 0x40]) + blob[middle + 1:]


def foreign_payload(blob: bytes) -> bytes:
    """A checksum that matches, over a payload this code did not write."""
    head = blob.index(b"\n") + 1 + 32
    payload = marshal.dumps(("2026-12-06", [], (1, 2)))
    return blob[:head] + zlib.crc32(payload).to_bytes(4, "big") + payload


@pytest.mark.parametrize("damage", [
    corrupt_payload,
    lambda blob: blob[:len(blob) // 3],  # cut short
    lambda blob: b"",
    lambda blob: b"not an entry" + blob[12:],
    foreign_payload,
], ids=["flipped bit", "truncated", "empty", "wrong header", "foreign payload"])
def test_a_damaged_entry_is_read_past_and_written_again(big, tmp_path, monkeypatch, damage):
    cache = tmp_path / "cache"
    fresh = load_snapshot(big, cache)
    (entry,) = entries(cache)
    entry.write_bytes(damage(entry.read_bytes()))
    assert state(load_snapshot(big, cache)) == state(fresh)  # from the JSON
    monkeypatch.setattr(snapshot_cache, "parse_snapshot", never_parse)
    assert state(load_snapshot(big, cache)) == state(fresh)  # the entry, written again


def test_a_refused_snapshot_is_refused_every_time_and_never_cached(big, tmp_path):
    cache = tmp_path / "cache"
    doc = json.loads(big.read_bytes())
    doc["prices"][5][3] = 0
    big.write_text(json.dumps(doc))
    with pytest.raises(CatalogError) as direct:
        read_snapshot(big)
    for _ in range(2):
        with pytest.raises(CatalogError) as cached:
            load_snapshot(big, cache)
        assert str(cached.value) == str(direct.value)
    assert "not positive" in str(direct.value)
    assert entries(cache) == []


@pytest.mark.parametrize("name", ["absent.json", "a directory"])
def test_a_file_that_cannot_be_read_is_refused_as_without_a_cache(tmp_path, name):
    (tmp_path / "a directory").mkdir()
    with pytest.raises(CatalogError) as direct:
        read_snapshot(tmp_path / name)
    with pytest.raises(CatalogError) as cached:
        load_snapshot(tmp_path / name, tmp_path / "cache")
    assert str(cached.value) == str(direct.value)


def test_a_small_snapshot_is_not_cached(tmp_path):
    path = tmp_path / "small.json"
    write_snapshot(path, [make_row(), make_row(region="eu-west-1", price_usd=0.107)],
                   date(2026, 12, 6))
    assert state(load_snapshot(path, tmp_path / "cache")) == state(read_snapshot(path))
    assert entries(tmp_path / "cache") == []


def test_a_directory_keeps_its_newest_entries_and_drops_abandoned_files(
        big, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    abandoned, recent = cache / ".old.tmp", cache / ".new.tmp"
    abandoned.write_bytes(b"half")
    recent.write_bytes(b"being written")
    hours_ago = time.time() - 2 * 3600
    os.utime(abandoned, (hours_ago, hours_ago))
    monkeypatch.setattr(snapshot_cache, "CACHE_ENTRIES", 1)
    load_snapshot(big, cache)
    other = tmp_path / "other.json"
    doc = json.loads(big.read_bytes())
    doc["notes"] = ["another snapshot"]
    other.write_text(json.dumps(doc))
    load_snapshot(other, cache)
    (kept,) = entries(cache)
    assert kept.exists()
    monkeypatch.setattr(snapshot_cache, "parse_snapshot", never_parse)
    assert load_snapshot(other, cache).notes == ["another snapshot"]  # the newest is kept
    assert not abandoned.exists() and recent.exists()


def test_a_cache_that_cannot_be_written_is_skipped(big, tmp_path):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    assert state(load_snapshot(big, not_a_directory)) == state(read_snapshot(big))
    assert not_a_directory.read_text() == ""


def test_the_default_directory_follows_the_xdg_convention(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "infra-mind" / "catalog"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # not absolute: ignored
    assert default_cache_dir() == Path.home() / ".cache" / "infra-mind" / "catalog"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "infra-mind" / "catalog"


def test_catalog_load_reads_through_the_default_cache_unless_told_not_to(
        big, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = tmp_path / "xdg" / "infra-mind" / "catalog"
    uncached = Catalog.load(big, cache=False)
    assert entries(cache) == []
    cached = Catalog.load(big)
    assert len(entries(cache)) == 1
    assert list(cached) == list(uncached)
    assert cached.family_rows("aws", "us-east-1", "compute") == \
        uncached.family_rows("aws", "us-east-1", "compute")
