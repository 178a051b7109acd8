import json
import sqlite3
from pathlib import Path
from typing import Any

from ledger.sqlite_conn import SQLiteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    is_agent INTEGER NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_seen_at TEXT
);
CREATE TABLE IF NOT EXISTS bundles (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    source TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    manifest TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    signature TEXT,
    registered_at TEXT NOT NULL,
    released_at TEXT,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS proposals (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    params TEXT NOT NULL,
    department TEXT NOT NULL,
    contract_ref TEXT,
    manifest_sha256 TEXT,
    decision TEXT NOT NULL,
    status TEXT NOT NULL,
    rule TEXT NOT NULL,
    reason TEXT NOT NULL,
    digest TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    decided_by TEXT,
    decided_at TEXT,
    decision_reason TEXT,
    job_id TEXT
);
CREATE INDEX IF NOT EXISTS proposals_status ON proposals(status);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    proposal_id TEXT NOT NULL UNIQUE REFERENCES proposals(id),
    case_id TEXT NOT NULL,
    action TEXT NOT NULL,
    params TEXT NOT NULL,
    contract_ref TEXT NOT NULL,
    approval_digest TEXT,
    options TEXT NOT NULL,
    status TEXT NOT NULL,
    not_after TEXT,
    lease_owner TEXT,
    lease_expires_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    result_status TEXT,
    result TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    request_id TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created_at);
"""

JSON_COLUMNS = {"params", "result", "manifest", "options"}


def row_dict(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    record = {}
    for column, value in zip(cursor.description, row, strict=True):
        name = column[0]
        record[name] = json.loads(value) if name in JSON_COLUMNS and value is not None else value
    return record


class TenantStore:
    """tenant.db: one institution's actors, bundles, proposals and jobs."""

    def __init__(self, path: Path) -> None:
        self.db = SQLiteFile(path, SCHEMA, durable=True)
        self.db.conn().row_factory = row_dict
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Columns added after a tenant.db was created."""
        with self.db.write() as conn:
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
            if "request_id" not in columns:
                conn.execute("ALTER TABLE jobs ADD COLUMN request_id TEXT")

    def conn(self) -> sqlite3.Connection:
        conn = self.db.conn()
        conn.row_factory = row_dict
        return conn

    def write(self):  # noqa: ANN201 - context manager from SQLiteFile
        self.conn()
        return self.db.write()

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        return self.conn().execute(sql, params).fetchone()

    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return self.conn().execute(sql, params).fetchall()

    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key=?", (key,))
        return row["value"] if row else None

    def close(self) -> None:
        self.db.close()
