"""Versioned schema of the accounts store, portable between PostgreSQL and SQLite."""

from portal.db import Database

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "accounts",
        """
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE plans (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    max_institutions INTEGER NOT NULL
);
CREATE TABLE institutions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    engine_institution_id TEXT UNIQUE,
    onboarding_state TEXT NOT NULL,
    agent_token_revealed_at TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE memberships (
    user_id TEXT NOT NULL REFERENCES users(id),
    institution_id TEXT NOT NULL REFERENCES institutions(id),
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, institution_id)
);
CREATE TABLE subscriptions (
    institution_id TEXT PRIMARY KEY REFERENCES institutions(id),
    plan_code TEXT NOT NULL REFERENCES plans(code),
    started_at TEXT NOT NULL
);
CREATE TABLE engine_credentials (
    institution_id TEXT NOT NULL REFERENCES institutions(id),
    kind TEXT NOT NULL,
    actor_id TEXT,
    nonce TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (institution_id, kind)
);
INSERT INTO plans (code, name, max_institutions) VALUES ('free', 'Free', 1)
""",
    ),
    (
        2,
        "ledger witness",
        """
CREATE TABLE ledger_witness (
    institution_id TEXT PRIMARY KEY REFERENCES institutions(id),
    note TEXT,
    signature TEXT,
    public_key TEXT,
    checked_at TEXT,
    alarm TEXT,
    alarm_at TEXT
)
""",
    ),
    (
        3,
        "sessions",
        """
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX sessions_user ON sessions(user_id)
""",
    ),
    (
        4,
        "plan contract and department",
        """
ALTER TABLE plans ADD COLUMN contract_ref TEXT NOT NULL DEFAULT 'personal_ops@v1.1.0';
ALTER TABLE plans ADD COLUMN default_department TEXT NOT NULL DEFAULT 'personal_ops'
""",
    ),
    (5, "user language", "ALTER TABLE users ADD COLUMN locale TEXT"),
]


def migrate(db: Database) -> list[int]:
    """Apply every migration not applied yet, each in its own transaction; return those applied."""
    with db.transaction() as tx:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    applied = []
    for version, name, sql in MIGRATIONS:
        with db.transaction() as tx:
            if db.dialect == "postgres":
                tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
            if tx.one("SELECT version FROM schema_migrations WHERE version=?", (version,)):
                continue
            tx.script(sql)
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at)"
                " VALUES (?, ?, CURRENT_TIMESTAMP)",
                (version, name),
            )
            applied.append(version)
    return applied
