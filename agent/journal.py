"""The agent's local journal: a job runs at most once, and every result is delivered."""

import json
import sqlite3
from pathlib import Path
from typing import Any

from kernel.canonical import canonical_json
from kernel.times import utc_now

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    case_id TEXT,
    action TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,          -- executing | executed | acknowledged
    result_status TEXT,
    report TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    acknowledged_at TEXT
);
CREATE TABLE IF NOT EXISTS progress (
    job_id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        self.conn.row_factory = sqlite3.Row

    def get(self, job_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM jobs WHERE job_id=?", (job_id,)).fetchone()
        return dict(row) if row else None

    def begin(self, job: dict[str, Any]) -> None:
        """Durably recorded before anything touches a file."""
        self.conn.execute(
            "INSERT INTO jobs (job_id, case_id, action, params, state, started_at)"
            " VALUES (?,?,?,?,'executing',?)",
            (
                job["job_id"],
                job.get("case_id"),
                job["action"],
                canonical_json(job["params"]).decode(),
                utc_now(),
            ),
        )

    def finish(self, job_id: str, status: str, report: dict[str, Any]) -> None:
        self.conn.execute(
            "UPDATE jobs SET state='executed', result_status=?, report=?, finished_at=?"
            " WHERE job_id=?",
            (status, canonical_json(report).decode(), utc_now(), job_id),
        )
        self.conn.execute("DELETE FROM progress WHERE job_id=?", (job_id,))

    def acknowledge(self, job_id: str) -> None:
        self.conn.execute(
            "UPDATE jobs SET state='acknowledged', acknowledged_at=? WHERE job_id=?",
            (utc_now(), job_id),
        )

    def unacknowledged(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM jobs WHERE state='executed' ORDER BY finished_at"
        ).fetchall()
        return [{**dict(row), "report": json.loads(row["report"])} for row in rows]

    def interrupted(self) -> list[dict[str, Any]]:
        """Jobs that began but never finished: the process died mid-execution."""
        return [dict(r) for r in self.conn.execute("SELECT * FROM jobs WHERE state='executing'")]

    def set_progress(self, job_id: str, data: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO progress (job_id, data, updated_at) VALUES (?,?,?)"
            " ON CONFLICT(job_id) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at",
            (job_id, json.dumps(data), utc_now()),
        )

    def progress(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT job_id, data, updated_at FROM progress").fetchall()
        return [
            {"job_id": r["job_id"], "updated_at": r["updated_at"], **json.loads(r["data"])}
            for r in rows
        ]

    def recent(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT job_id, case_id, action, state, result_status, started_at, finished_at,"
            " acknowledged_at FROM jobs ORDER BY started_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [dict(row) for row in rows]

    def close(self) -> None:
        self.conn.close()
