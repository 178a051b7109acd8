"""Quarantine retention: past the contract's `purge.retention_days`, the clock proposes purging
the files that have waited that long. A proposal like any other: judged against the contract,
recorded, and run only once a human approves it. Files a purge proposal already names (pending,
approved, or rejected: the owner said keep them) are not proposed again."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from governance.contracts import active_contract
from governance.proposals import Submission, decide
from governance.records import Actor, Proposal
from ledger.store import new_case_id
from tenants.database import Reader, Tx
from tenants.tenant import Tenant


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def held(reader: Reader) -> list[dict[str, Any]]:
    """Files in the quarantine per the engine's own records (executed jobs), oldest first:
    placed by a delete or quarantine_files, not restored or purged since; with who approved
    placing them and when."""
    placed: dict[str, dict[str, Any]] = {}
    closed: set[str] = set()
    rows = reader.conn.execute(
        "SELECT j.id, j.action, j.result, j.updated_at, p.decided_by, p.decided_at"
        " FROM jobs j JOIN proposals p ON p.id = j.proposal_id WHERE j.result_status='succeeded'"
        " AND j.action IN ('delete', 'quarantine_files', 'restore', 'purge') ORDER BY j.updated_at"
    )
    for job_id, action, result, updated_at, decided_by, decided_at in rows:
        report = json.loads(result) if result else {}
        if action == "restore" and report.get("quarantine_id"):
            closed.add(report["quarantine_id"])
        elif action == "purge":
            closed.update(
                f["quarantine_id"] for f in report.get("files", []) if f.get("status") == "purged"
            )
        else:
            for touched in report.get("files", []):
                parts = (touched.get("new_path") or "").split("/")
                if touched.get("status") == "refused" or len(parts) < 3:
                    continue
                placed[parts[1]] = {
                    "quarantine_id": parts[1],
                    "path": touched["new_path"],
                    "original_path": touched["path"],
                    "sha256": touched["sha256_before"],
                    "size": touched["size_before"],
                    "placed_at": updated_at,
                    "job_id": job_id,
                    "approved_by": decided_by,
                    "approved_at": decided_at,
                }
    return [entry for qid, entry in placed.items() if qid not in closed]


def _already_proposed(reader: Reader) -> set[str]:
    rows = reader.conn.execute(
        "SELECT params FROM proposals WHERE action='purge'"
        " AND status IN ('pending_approval', 'approved', 'rejected')"
    )
    return {f["path"] for (params,) in rows for f in json.loads(params).get("files", [])}


def due(reader: Reader, now: datetime) -> list[dict[str, Any]]:
    """The quarantined files past the retention period no purge proposal names yet."""
    active = active_contract(reader)
    spec = active.contract.actions.get("purge") if active else None
    if spec is None or spec.retention_days is None:
        return []
    cutoff = _iso(now - timedelta(days=spec.retention_days))
    maximum = (spec.params["files"].max if "files" in spec.params else None) or 1000
    named = _already_proposed(reader)
    waiting = [e for e in held(reader) if e["placed_at"] < cutoff and e["path"] not in named]
    return [{k: e[k] for k in ("path", "sha256", "size")} for e in waiting[:maximum]]


def propose_due_purge(tenant: Tenant, now: datetime | None = None) -> Proposal | None:
    """Propose purging what waited past retention, as the institution's agent (the actor
    that keeps the quarantine). A plain read when nothing is due; the write re-checks."""
    now = now or datetime.now(UTC)
    with tenant.db.reader() as reader:
        if not due(reader, now):
            return None

    def work(tx: Tx) -> Proposal | None:
        files = due(tx, now)
        row = tx.one(
            "SELECT id, name, role, is_agent FROM actors WHERE role='organizational_agent' LIMIT 1"
        )
        if not files or row is None:
            return None
        agent = Actor(**{**row, "is_agent": bool(row["is_agent"])})
        submission = Submission("purge", {"files": files}, None, new_case_id())
        proposal, _ = decide(tx, agent, submission)
        return proposal

    return tenant.db.write(work)
