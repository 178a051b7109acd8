from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel.sqlite import SQLiteFile
from kernel.times import utc_now

SCHEMA = """
CREATE TABLE IF NOT EXISTS institutions (
    id TEXT PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    institution_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    note TEXT NOT NULL,
    signature TEXT NOT NULL,
    public_key TEXT NOT NULL
);
"""
COLUMNS = "id, external_id, name, created_at"


@dataclass(frozen=True)
class Institution:
    id: str
    external_id: str
    name: str
    created_at: str


class Registry:
    """Which institutions exist, keyed by the caller's external id for idempotent creation.
    An institution's own file is made before its row here: a row always has a file behind it."""

    def __init__(self, path: Path) -> None:
        self.db = SQLiteFile(path, SCHEMA)

    def find(self, external_id: str) -> Institution | None:
        sql = f"SELECT {COLUMNS} FROM institutions WHERE external_id=?"
        row = self.db.conn().execute(sql, (external_id,)).fetchone()
        return Institution(*row) if row else None

    def add(self, institution_id: str, external_id: str, name: str) -> Institution:
        """Register an institution; when another one took `external_id` first, that one is
        returned (the caller then discards its own)."""
        with self.db.write() as conn:
            conn.execute(
                f"INSERT INTO institutions ({COLUMNS}) VALUES (?,?,?,?)"
                " ON CONFLICT(external_id) DO NOTHING",
                (institution_id, external_id, name, utc_now()),
            )
            row = conn.execute(
                f"SELECT {COLUMNS} FROM institutions WHERE external_id=?", (external_id,)
            ).fetchone()
        return Institution(*row)

    def get(self, institution_id: str) -> Institution | None:
        sql = f"SELECT {COLUMNS} FROM institutions WHERE id=?"
        row = self.db.conn().execute(sql, (institution_id,)).fetchone()
        return Institution(*row) if row else None

    def page(self, after_id: str = "", limit: int = 500) -> list[Institution]:
        """Institutions in id order, `limit` at a time: callers walk all of them without
        holding the whole list."""
        rows = self.db.conn().execute(
            f"SELECT {COLUMNS} FROM institutions WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [Institution(*row) for row in rows]

    def keep_checkpoint(self, institution_id: str, checkpoint: dict[str, Any]) -> None:
        """Remember an institution's newest signed checkpoint outside its own file, so that
        a file rolled back, or stripped of its checkpoints, still meets it. Never goes back."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO checkpoints (institution_id, size, note, signature, public_key)"
                " VALUES (?,?,?,?,?) ON CONFLICT(institution_id) DO UPDATE SET"
                " size=excluded.size, note=excluded.note, signature=excluded.signature,"
                " public_key=excluded.public_key WHERE excluded.size > checkpoints.size",
                (
                    institution_id,
                    checkpoint["seq"],
                    checkpoint["note"],
                    checkpoint["signature"],
                    checkpoint["public_key"],
                ),
            )

    def kept_checkpoint(self, institution_id: str) -> dict[str, Any] | None:
        row = (
            self.db.conn()
            .execute(
                "SELECT size, note, signature, public_key FROM checkpoints WHERE institution_id=?",
                (institution_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        size, note, signature, public_key = row
        return {"seq": size, "note": note, "signature": signature, "public_key": public_key}
