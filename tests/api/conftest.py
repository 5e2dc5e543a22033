"""The API fixtures live in ``tests/platform_fixtures.py`` (shared with worker and
observability tests through the root conftest)."""
