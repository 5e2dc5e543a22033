"""The API fixtures (app on SQLite and PostgreSQL, client): the app starts the broker and
the platform that tasks use."""

from tests.api.conftest import app, client, database_url, pg_database, settings  # noqa: F401
