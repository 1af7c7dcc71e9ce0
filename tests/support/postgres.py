"""Tests use the package's throwaway PostgreSQL runner (walkway.local_postgres)."""

from walkway.local_postgres import LocalPostgres, postgres_bindir

__all__ = ["LocalPostgres", "postgres_bindir"]
