"""Exit codes and the one-line error every command raises."""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra_mind.config import Settings


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # the command ran and found a problem (e.g. unhealthy, refresh failed)
    USAGE = 2  # bad arguments or a bad input file
    NOT_FOUND = 3  # the thing asked for does not exist (unknown SKU, no price)


class CliError(Exception):
    """A one-line error for the user, with its exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILURE) -> None:
        super().__init__(message)
        self.code = code


def settings_or_exit() -> Settings:
    """The settings, or a one-line usage error naming the bad variable.

    Imported here, not at module level: ``infra_mind.config`` pulls in pydantic-settings,
    which commands that read no settings (``assess``, ``catalog``) never pay for.
    """
    from infra_mind.config import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
