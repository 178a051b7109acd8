"""The institution database: its state tables and its ledger, in one SQLite file.

`PRAGMA user_version` holds SCHEMA_VERSION. An older file is upgraded in place when it is opened
(UPGRADES, one transaction); the engine refuses a newer one (InstitutionDB.open).
Version 2 added `jobs.progress` (what a running job has done so far, as its agent reports it).
Version 3 added `actors.revoked_at` and `actors.agent_version` (a removed person's actor, a
lost laptop's token; the build an agent last reported) and `proposals.requested_by` (the person
who asked the agent for a proposal).
"""

import sqlite3

from kernel.sqlite import statements
from ledger import store as ledger_store

SCHEMA_VERSION = 3
FILENAME = "institution.db"

STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    is_agent INTEGER NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_seen_at TEXT,
    revoked_at TEXT,
    agent_version TEXT
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
    job_id TEXT,
    requested_by TEXT
);
CREATE INDEX IF NOT EXISTS proposals_status ON proposals(status, expires_at);
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
    request_id TEXT,
    progress TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created_at);
"""

# From version N to N+1: the statements that bring a file written at N to N+1.
UPGRADES: dict[int, tuple[str, ...]] = {
    1: ("ALTER TABLE jobs ADD COLUMN progress TEXT",),
    2: (
        "ALTER TABLE actors ADD COLUMN revoked_at TEXT",
        "ALTER TABLE actors ADD COLUMN agent_version TEXT",
        "ALTER TABLE proposals ADD COLUMN requested_by TEXT",
    ),
}

STATE_TABLES = ("meta", "actors", "bundles", "proposals", "jobs")
LEDGER_TABLES = ("events", "checkpoints")


def create(conn: sqlite3.Connection) -> None:
    """The whole schema in an empty file (inside the caller's transaction)."""
    for statement in statements(STATE_SCHEMA + ledger_store.SCHEMA):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def upgrade(conn: sqlite3.Connection) -> int:
    """Bring an older file to SCHEMA_VERSION in one transaction; returns the version it had.
    Safe when several processes open the file at once: the version is read under the lock."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = version(conn)
        for step in range(found, SCHEMA_VERSION):
            for statement in UPGRADES[step]:
                conn.execute(statement)
        if found < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.rollback()
        raise
    return found
