"""Real accounts databases, isolated per test: a fresh PostgreSQL schema, or a SQLite file."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from portal.db import Database, PostgresDatabase, SQLiteDatabase

POSTGRES_URL = os.environ.get(
    "LIBERVIA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def postgres_available() -> bool:
    import psycopg

    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
        return True
    except psycopg.OperationalError:
        return False


def require_postgres() -> None:
    """In CI a missing PostgreSQL fails the run; elsewhere the test is skipped."""
    if postgres_available():
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI and is not reachable at {POSTGRES_URL}")
    pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")


@contextmanager
def postgres_schema() -> Iterator[tuple[str, str]]:
    """A throwaway schema; yields (url, options) that put it first on the search_path."""
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield POSTGRES_URL, f"-c search_path={schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A throwaway schema as one database URL, its search_path in the URL's options."""
    with postgres_schema() as (url, options):
        yield f"{url}?options={quote(options, safe='')}"


@contextmanager
def accounts_database(kind: str, tmp_path: Path) -> Iterator[Database]:
    if kind == "sqlite":
        db: Database = SQLiteDatabase(tmp_path / "accounts.db")
        try:
            yield db
        finally:
            db.close()
        return
    require_postgres()
    with postgres_schema() as (url, options):
        db = PostgresDatabase(url, options=options, max_size=4)
        try:
            yield db
        finally:
            db.close()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A throwaway database (pg_dump and pg_restore work on whole databases); yields its URL."""
    import psycopg

    require_postgres()
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
