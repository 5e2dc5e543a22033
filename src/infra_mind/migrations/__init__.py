"""Alembic migrations, shipped inside the package so ``infra-mind migrate`` works installed."""
