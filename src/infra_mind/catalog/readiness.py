"""The catalog's age for ``/health/ready``, worked out in a child process.

Loading the catalog and counting the rows the engine designs with costs a few hundred
ms of CPU and about 34 MiB that a process keeps for good; an API process that serves
reads needs neither, and readiness probes would otherwise give it both. So the answer is
asked of ``python -m infra_mind.catalog.readiness`` once per snapshot file, day and
limit (``CatalogReadiness``), and the API process keeps one line.

The answer is public: ``ok``, ``stale: oldest price N days (limit M)`` or
``unreadable: ...``, never a path.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path

UNREADABLE = "unreadable: `infra-mind catalog stats` says why"
#: Longest a child may take (start, load, count) before the answer is "unreadable".
TIMEOUT_S = 60.0


def readiness_of(snapshot: Path, max_age_days: int, today: date | None = None) -> str:
    """The line for ``snapshot`` (in this process: the child's work)."""
    from infra_mind.catalog.coverage import staleness
    from infra_mind.catalog.model import CatalogError
    from infra_mind.catalog.store import Catalog

    try:
        catalog = Catalog.load(snapshot)
    except (CatalogError, OSError):
        return UNREADABLE
    return staleness(catalog, max_age_days, today).readiness()


class CatalogReadiness:
    """This process's answers, by (file, its modification time, limit, day): a refreshed
    snapshot, another limit or a new day is asked again, anything else is not."""

    def __init__(self) -> None:
        #: (what it was asked about, the answer): only the newest is kept
        self._answer: tuple[tuple[str, int, int, date], str] | None = None
        self._lock = asyncio.Lock()

    async def line(self, snapshot: Path, max_age_days: int) -> str:
        try:
            stat = snapshot.stat()
        except OSError:
            return UNREADABLE
        key = (str(snapshot.resolve()), stat.st_mtime_ns, max_age_days, date.today())
        async with self._lock:  # probes arriving together start one child
            if self._answer is None or self._answer[0] != key:
                self._answer = key, await _ask_child(snapshot, max_age_days)
            return self._answer[1]


async def _ask_child(snapshot: Path, max_age_days: int) -> str:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "infra_mind.catalog.readiness", str(snapshot),
        str(max_age_days), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        out, _ = await asyncio.wait_for(child.communicate(), TIMEOUT_S)
    except TimeoutError:
        child.kill()
        await child.wait()
        return UNREADABLE
    line = out.decode(errors="replace").strip()
    if child.returncode != 0 or not line.startswith(("ok", "stale: ", "unreadable: ")):
        return UNREADABLE
    return line


if __name__ == "__main__":
    print(readiness_of(Path(sys.argv[1]), int(sys.argv[2])))
