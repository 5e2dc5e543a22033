"""``python -m infra_mind.worker BROKER MODULES [taskiq worker options]``: taskiq's worker
command with this project's JSON log lines in every one of its processes.

``infra-mind worker`` execs this rather than ``python -m taskiq worker``: taskiq sets up
logging with its own text format (``[time][logger][level][process] message``) in its
main process before it imports anything of ours, and its worker processes are forked
from that one. Here logging is set up first (``configure_logging``) and taskiq is told
not to (``--no-configure-logging``), so the main process's lines ("Starting 2 worker
processes", a dead worker restarted) and the forked workers' lines are JSON from the
first.
"""

from __future__ import annotations

import sys

from taskiq.cli.worker.cmd import WorkerCMD

from infra_mind.config import settings
from infra_mind.observability.logging import configure_logging


def main(argv: list[str]) -> int:
    level = settings().log_level  # validated by `infra-mind worker`, which execs this
    configure_logging(level)
    status = WorkerCMD().exec([*argv, "--no-configure-logging", "--log-level", level])
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
