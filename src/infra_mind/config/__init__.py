"""The settings and the configuration files: the one place the process's environment is read.

The lowest layer: it imports nothing else of ``infra_mind``, so everything may import it.

- ``settings``: ``Settings``, one pydantic-settings class (environment > ``production.yaml``
  > defaults), made of the parts a process may load alone (``LLMSettings``,
  ``CatalogSettings``, ``TracingSettings``, ``QueueSettings``);
- ``files``: ``production.yaml`` (its schema is made from ``Settings``), reading and
  validating a configuration file;
- ``integrations``: ``integrations.yaml``, the outside services;
- ``keys``: what ``ENCRYPTION_KEY`` holds; ``s3``: what ``BACKUP_S3_URL`` names;
- ``values``: ``SettingsError`` and ``HttpUrlText``, shared by all of them.
"""

from __future__ import annotations

from infra_mind.config.settings import (
    DEV_SECRET_FILE,
    CatalogSettings,
    LLMSettings,
    QueueSettings,
    Settings,
    SettingsPart,
    TracingSettings,
    development_secret_path,
    load_settings,
    settings,
    shared_secret,
)
from infra_mind.config.values import HttpUrlText, SettingsError, http_url

__all__ = [
    "DEV_SECRET_FILE",
    "CatalogSettings",
    "HttpUrlText",
    "LLMSettings",
    "QueueSettings",
    "Settings",
    "SettingsError",
    "SettingsPart",
    "TracingSettings",
    "development_secret_path",
    "http_url",
    "load_settings",
    "settings",
    "shared_secret",
]
