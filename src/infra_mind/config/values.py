"""What every part of the settings shares: the error a setting that cannot run raises, and
the URL type of the settings and configuration files that name an outside service."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator


class SettingsError(Exception):
    """Configuration that cannot run; the message is one line naming the variable."""


def http_url(value: str) -> str:
    """``value`` if it is an absolute http(s) URL with a host."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


HttpUrlText = Annotated[str, AfterValidator(http_url)]
