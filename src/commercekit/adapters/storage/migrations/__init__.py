"""Alembic migrations of the SQL storage schema (run by ``commercekit.adapters.storage.sql``)."""
