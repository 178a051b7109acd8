"""The console as a witness of each institution's ledger: it remembers the last checkpoint it
verified (in the accounts store) and accepts the engine's newest only with a consistency proof
that it extends it. An alarm stays until an operator clears the row: a console that once saw a
rewritten or rolled-back ledger never goes back to saying "verified"."""

import base64
from datetime import UTC, datetime
from typing import Any

from ledger import LedgerError
from ledger.witness import Seen, WitnessAlarm, judge
from portal.db import Database
from portal.workspace import Workspace


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def check(db: Database, ws: Workspace) -> dict[str, Any]:
    with db.transaction() as tx:
        row = tx.one("SELECT * FROM ledger_witness WHERE institution_id=?", (ws.institution_id,))
    if row and row["alarm"]:
        return {"status": "alarm", "problem": row["alarm"], "since": row["alarm_at"]}
    seen = Seen(row["note"], row["signature"], row["public_key"]) if row and row["note"] else None
    public_key = seen.public_key if seen else ws.engine_public_key()
    latest = ws.latest_checkpoint()

    def consistency(old: int, size: int) -> list[bytes]:
        return [base64.b64decode(h) for h in ws.consistency(old, size)["proof"]]

    try:
        trusted = judge(
            ws.engine_id, public_key, seen, latest["note"], latest["signature"], consistency
        )
    except (WitnessAlarm, LedgerError, ValueError) as exc:
        problem = str(exc) if isinstance(exc, WitnessAlarm) else f"unreadable proof: {exc}"
        _keep(db, ws.institution_id, {"alarm": problem, "alarm_at": _now()})
        ws.report_witness(problem, seen.size if seen else 0, latest.get("size"))
        return {"status": "alarm", "problem": problem, "since": _now()}
    _keep(
        db,
        ws.institution_id,
        {
            "note": trusted.note,
            "signature": trusted.signature,
            "public_key": trusted.public_key,
            "checked_at": _now(),
        },
    )
    return {"status": "ok", "size": trusted.size, "checked_at": _now()}


def _keep(db: Database, institution_id: str, values: dict[str, Any]) -> None:
    columns = list(values)
    with db.transaction() as tx:
        if tx.one("SELECT 1 FROM ledger_witness WHERE institution_id=?", (institution_id,)):
            assignments = ", ".join(f"{c}=?" for c in columns)
            tx.execute(
                f"UPDATE ledger_witness SET {assignments} WHERE institution_id=?",
                (*values.values(), institution_id),
            )
        else:
            tx.execute(
                f"INSERT INTO ledger_witness (institution_id, {', '.join(columns)})"
                f" VALUES (?, {', '.join('?' for _ in columns)})",
                (institution_id, *values.values()),
            )
