"""One small interface over PostgreSQL (psycopg 3, pooled) and the embedded SQLite file.

SQL is written once with `?` placeholders; for PostgreSQL they become `%s`.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kernel.sqlite import SQLiteFile


class Database:
    dialect: str

    @contextmanager
    def transaction(self) -> Iterator["Tx"]:  # pragma: no cover - interface
        raise NotImplementedError
        yield

    def close(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class Tx:
    """A transaction: rows come back as dicts."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgres" else sql

    def execute(self, sql: str, params: tuple = ()) -> int:
        cursor = self.conn.execute(self._sql(sql), params)
        return cursor.rowcount

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        return self.conn.execute(self._sql(sql), params).fetchone()

    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return self.conn.execute(self._sql(sql), params).fetchall()

    def script(self, sql: str) -> None:
        for statement in (s.strip() for s in sql.split(";")):
            if statement:
                self.conn.execute(statement)


def _sqlite_row(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = SQLiteFile(path, schema="", durable=True)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.file.write() as conn:
            conn.row_factory = _sqlite_row
            yield Tx(conn, self.dialect)

    def close(self) -> None:
        self.file.close()


class PostgresDatabase(Database):
    dialect = "postgres"

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 10, options: str | None = None
    ) -> None:
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        kwargs: dict[str, Any] = {"row_factory": dict_row}
        if options:
            kwargs["options"] = options
        self.pool = ConnectionPool(
            url, min_size=min_size, max_size=max_size, kwargs=kwargs, open=True
        )

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.pool.connection() as conn, conn.transaction():
            yield Tx(conn, self.dialect)

    def close(self) -> None:
        self.pool.close()


def open_database(url: str | None, sqlite_path: Path) -> Database:
    """PostgreSQL when a URL is given, else the embedded SQLite accounts file."""
    if url:
        return PostgresDatabase(url)
    return SQLiteDatabase(sqlite_path)
