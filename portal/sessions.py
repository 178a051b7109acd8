"""Sessions recorded server-side: the cookie carries a random session id (signed), the store
keeps only its sha256, so a session can be ended (sign-out, sign out everywhere) and expires.
A cookie copied before sign-out opens nothing afterwards."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from kernel.times import stamp
from portal.db import Database

LIFETIME = timedelta(days=7)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(db: Database, user_id: str, lifetime: timedelta = LIFETIME) -> str:
    """A new session for the user; returns its id (for the cookie only)."""
    session_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?,?,?,?)",
            (_digest(session_id), user_id, stamp(now), stamp(now + lifetime)),
        )
    return session_id


def user_of(db: Database, session_id: str) -> str | None:
    """The user of a live session: not revoked, not expired."""
    with db.transaction() as tx:
        row = tx.one(
            "SELECT user_id FROM sessions WHERE id_hash=? AND revoked_at IS NULL"
            " AND expires_at > ?",
            (_digest(session_id), stamp(datetime.now(UTC))),
        )
    return row["user_id"] if row else None


def revoke(db: Database, session_id: str) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE sessions SET revoked_at=? WHERE id_hash=? AND revoked_at IS NULL",
            (stamp(datetime.now(UTC)), _digest(session_id)),
        )


def revoke_all(db: Database, user_id: str) -> int:
    with db.transaction() as tx:
        return tx.execute(
            "UPDATE sessions SET revoked_at=? WHERE user_id=? AND revoked_at IS NULL",
            (stamp(datetime.now(UTC)), user_id),
        )
