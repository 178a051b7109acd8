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
    (
        6,
        "people, mail and notifications",
        """
ALTER TABLE users ADD COLUMN email_verified_at TEXT;
ALTER TABLE memberships ADD COLUMN actor_id TEXT;
UPDATE memberships SET actor_id = (SELECT c.actor_id FROM engine_credentials c
    WHERE c.institution_id = memberships.institution_id AND c.kind = 'owner')
    WHERE role = 'owner';
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    institution_id TEXT NOT NULL REFERENCES institutions(id),
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    invited_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    accepted_at TEXT,
    accepted_by TEXT REFERENCES users(id),
    withdrawn_at TEXT
);
CREATE INDEX invitations_institution ON invitations(institution_id);
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    sent_at TEXT,
    failed_at TEXT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(sent_at, failed_at, next_attempt_at);
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    institution_id TEXT NOT NULL REFERENCES institutions(id),
    kind TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    params TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT,
    UNIQUE (user_id, kind, subject_key)
);
CREATE INDEX notifications_unread ON notifications(user_id, read_at);
CREATE TABLE notification_choices (
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    email INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);
CREATE TABLE notice_watch (
    institution_id TEXT PRIMARY KEY REFERENCES institutions(id),
    seen_seq INTEGER NOT NULL
)
""",
    ),
]


def migrate(db: Database, upto: int | None = None) -> list[int]:
    """Apply every migration not applied yet (up to version `upto`), each in its own
    transaction; return those applied."""
    with db.transaction() as tx:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    applied = []
    for version, name, sql in MIGRATIONS:
        if upto is not None and version > upto:
            break
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
