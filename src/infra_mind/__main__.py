"""``python -m infra_mind``: the same as the ``infra-mind`` command."""

from infra_mind.cli.main import run

run()
