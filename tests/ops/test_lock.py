"""The lock files against pyproject.toml (``scripts/check-lock``), offline.

The real files must pass, and the environment must be the lock's (``scripts/bootstrap``
installs it), so the dependencies of every pin are checked through its installed
metadata. Copies changed the ways a lock goes stale (a dependency added or tightened in
pyproject.toml, a runtime pin the dev lock does not share, a hash or a transitive
dependency dropped) must each fail, naming the package.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check-lock"


def check(pyproject: Path = ROOT / "pyproject.toml", lock: Path = ROOT / "requirements.lock",
          dev_lock: Path = ROOT / "requirements-dev.lock") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHECK), "--pyproject", str(pyproject),
                           "--lock", str(lock), "--dev-lock", str(dev_lock)],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture()
def copies(tmp_path: Path) -> tuple[Path, Path, Path]:
    paths = []
    for name in ("pyproject.toml", "requirements.lock", "requirements-dev.lock"):
        target = tmp_path / name
        target.write_text((ROOT / name).read_text())
        paths.append(target)
    return paths[0], paths[1], paths[2]


def pinned(lock: Path, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)", lock.read_text(), re.MULTILINE)
    assert match, f"{name} is not in {lock.name}"
    return match[1]


def test_the_committed_locks_satisfy_pyproject_and_the_environment_is_theirs():
    done = check()
    assert done.returncode == 0, done.stderr
    # no pin left unwalked: this environment was installed from the lock
    assert done.stderr == "", done.stderr
    assert "satisfy pyproject.toml" in done.stdout


def test_every_pin_has_an_exact_version_and_a_hash():
    for name in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / name).read_text()
        pins = re.findall(r"^([a-z0-9][a-z0-9._-]*)==\S+ \\$", text, re.MULTILINE)
        blocks = re.split(r"^(?=[a-z0-9])", text, flags=re.MULTILINE)
        assert len(pins) > 50, name
        assert all("--hash=sha256:" in block for block in blocks if "==" in block), name


def test_a_dependency_added_to_pyproject_without_relocking_fails(copies):
    pyproject, lock, dev_lock = copies
    text = pyproject.read_text()
    pyproject.write_text(text.replace('dependencies = [\n',
                                      'dependencies = [\n  "tabulate>=0.9",\n', 1))
    done = check(pyproject, lock, dev_lock)
    assert done.returncode == 1
    assert "requirements.lock: tabulate>=0.9 (pyproject.toml dependencies) is not pinned" \
        in done.stderr
    assert "requirements-dev.lock: tabulate>=0.9" in done.stderr


def test_a_tightened_specifier_the_pin_no_longer_meets_fails(copies):
    pyproject, lock, dev_lock = copies
    version = pinned(lock, "redis")
    major = int(version.split(".")[0])
    text = pyproject.read_text()
    assert '"redis[hiredis]>=5"' in text
    pyproject.write_text(text.replace('"redis[hiredis]>=5"', f'"redis[hiredis]>={major + 1}"'))
    done = check(pyproject, lock, dev_lock)
    assert done.returncode == 1
    assert f"redis=={version} is not allowed by redis[hiredis]>={major + 1}" in done.stderr


def test_a_dev_extra_missing_from_the_dev_lock_fails(copies):
    pyproject, lock, dev_lock = copies
    text = dev_lock.read_text()
    start = text.index("\npip-audit==")
    end = re.search(r"\n(?=[a-z0-9])", text[start + 1:])
    assert end is not None
    dev_lock.write_text(text[:start] + text[start + 1 + end.start():])
    done = check(pyproject, lock, dev_lock)
    assert done.returncode == 1
    assert "requirements-dev.lock: pip-audit>=2.7 (pyproject.toml dev extra) is not pinned" \
        in done.stderr


def test_runtime_and_dev_locks_must_agree(copies):
    pyproject, lock, dev_lock = copies
    version = pinned(lock, "pyjwt")
    lock.write_text(lock.read_text().replace(f"\npyjwt=={version} ", "\npyjwt==2.8.0 "))
    done = check(pyproject, lock, dev_lock)
    assert done.returncode == 1
    assert f"requirements-dev.lock: pyjwt is {version}, requirements.lock pins 2.8.0" \
        in done.stderr


def test_a_pin_without_hashes_fails(copies):
    pyproject, lock, dev_lock = copies
    version = pinned(dev_lock, "idna")
    text = dev_lock.read_text()
    start = text.index(f"\nidna=={version} \\\n")
    end = text.index("    # via", start)
    dev_lock.write_text(text[:start] + f"\nidna=={version}\n" + text[end:])
    done = check(pyproject, lock, dev_lock)
    assert done.returncode == 1
    assert "requirements-dev.lock: idna has no hash" in done.stderr


def test_a_transitive_dependency_dropped_from_the_lock_fails(copies):
    """httpx needs idna (through its installed metadata); a lock without idna is not
    closed, although pyproject.toml never names idna."""
    pyproject, lock, dev_lock = copies
    for path in (lock, dev_lock):
        text = path.read_text()
        start = text.index("\nidna==")
        end = re.search(r"\n(?=[a-z0-9])", text[start + 1:])
        assert end is not None
        path.write_text(text[:start] + text[start + 1 + end.start():])
    done = check(pyproject, lock, dev_lock)
    assert done.returncode == 1
    assert re.search(r"requirements\.lock: \S+ needs idna\S*, which is not pinned",
                     done.stderr), done.stderr


def test_unreadable_input_is_one_line():
    done = check(pyproject=ROOT / "no-such-pyproject.toml")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot read" in done.stderr
