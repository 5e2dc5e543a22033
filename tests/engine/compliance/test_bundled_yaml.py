"""The bundled control files are read with libyaml's loader (``CSafeLoader``) where PyYAML
has it: it must read each exactly as the pure-Python loader does, and a file it cannot
parse must fail with the pure loader's words."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra_mind.engine.compliance import catalog
from infra_mind.engine.compliance.catalog import CONTROLS_DIR, all_frameworks, load_controls

pytestmark = pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"),
                                reason="PyYAML built without libyaml: the pure loader reads all")


def typed(value):
    """A value with the type of every part spelt out (1 and 1.0 and True differ)."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, value)


def test_every_bundled_file_reads_the_same_with_either_loader():
    files = sorted(CONTROLS_DIR.glob("*.yaml"))
    assert [f.stem for f in files] == sorted(all_frameworks())
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert typed(yaml.load(text, Loader=yaml.CSafeLoader)) == typed(yaml.safe_load(text)), \
            path.name


def test_bundled_controls_are_those_the_pure_loader_gives():
    for framework in all_frameworks():
        path = CONTROLS_DIR / f"{framework}.yaml"
        pure = catalog._parse(yaml.safe_load(path.read_text(encoding="utf-8")), framework,
                              path)
        assert tuple(load_controls(framework)) == pure


@pytest.mark.parametrize("text", [
    "framework: gdpr\ncontrols: [unclosed\n",
    "framework: gdpr\n  name: indented wrongly\n",
    "a: 'no end\n",
])
def test_a_bundled_file_that_fails_to_parse_fails_with_the_pure_loaders_words(text):
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as bundled:
        catalog._parse_yaml(text, bundled=True)
    assert str(bundled.value) == str(pure.value)
    assert type(bundled.value) is type(pure.value)


def test_files_from_another_directory_are_read_by_the_pure_loader(tmp_path, monkeypatch):
    source = CONTROLS_DIR / "soc2.yaml"
    (tmp_path / "soc2.yaml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    used = []
    real_load = yaml.load

    def spying_load(stream, Loader):
        used.append(Loader)
        return real_load(stream, Loader=Loader)

    monkeypatch.setattr(catalog.yaml, "load", spying_load)
    catalog._load.cache_clear()
    try:
        assert load_controls("soc2", Path(tmp_path)) == load_controls("soc2")
    finally:
        catalog._load.cache_clear()
    assert used.count(yaml.CSafeLoader) == 1  # the bundled file only
    assert yaml.SafeLoader in used  # yaml.safe_load -> yaml.load(..., SafeLoader)
