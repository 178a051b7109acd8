from dataclasses import dataclass
from pathlib import Path

from ledger.sqlite_conn import SQLiteFile
from ledger.store import utc_now
from tenants.layout import new_institution_id

SCHEMA = """
CREATE TABLE IF NOT EXISTS institutions (
    id TEXT PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Institution:
    id: str
    external_id: str
    name: str
    created_at: str


class Registry:
    """Which institutions exist, keyed by the caller's external id for idempotent creation."""

    def __init__(self, path: Path) -> None:
        self.db = SQLiteFile(path, SCHEMA)

    def create_or_get(self, external_id: str, name: str) -> tuple[Institution, bool]:
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT id, external_id, name, created_at FROM institutions WHERE external_id=?",
                (external_id,),
            ).fetchone()
            if row:
                return Institution(*row), False
            institution = Institution(new_institution_id(), external_id, name, utc_now())
            conn.execute(
                "INSERT INTO institutions (id, external_id, name, created_at) VALUES (?,?,?,?)",
                (institution.id, institution.external_id, institution.name, institution.created_at),
            )
        return institution, True

    def get(self, institution_id: str) -> Institution | None:
        row = (
            self.db.conn()
            .execute(
                "SELECT id, external_id, name, created_at FROM institutions WHERE id=?",
                (institution_id,),
            )
            .fetchone()
        )
        return Institution(*row) if row else None

    def all(self) -> list[Institution]:
        rows = self.db.conn().execute(
            "SELECT id, external_id, name, created_at FROM institutions ORDER BY created_at"
        )
        return [Institution(*row) for row in rows]
