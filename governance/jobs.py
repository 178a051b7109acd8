from datetime import UTC, datetime, timedelta
from typing import Any

from governance import BadRequest, Conflict, Forbidden, NotFound
from governance.tokens import new_id
from idl.model import ActionSpec
from ledger.canonical import canonical_json
from ledger.store import utc_now
from tenants.tenant import Tenant

MAX_LEASE_SECONDS = 3600
LAST_SEEN_EVERY = 10
RESULT_STATUSES = ("succeeded", "failed", "refused")


def iso_in(seconds: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def create_job(
    conn: Any,
    proposal: dict[str, Any],
    spec: ActionSpec,
    approval_digest: str | None,
    not_after: str | None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Insert the job inside the caller's transaction; UNIQUE(proposal_id) makes it at most one."""
    now = utc_now()
    options = {"effect": spec.effect}
    if spec.delete_mode:
        options["delete_mode"] = spec.delete_mode
    job = {
        "id": new_id("job"),
        "proposal_id": proposal["id"],
        "case_id": proposal["case_id"],
        "action": proposal["action"],
        "params": proposal["params"],
        "contract_ref": proposal["contract_ref"],
        "approval_digest": approval_digest,
        "options": options,
        "not_after": not_after,
        "request_id": request_id,
    }
    conn.execute(
        "INSERT INTO jobs (id, proposal_id, case_id, action, params, contract_ref, approval_digest,"
        " options, status, not_after, created_at, updated_at, request_id)"
        " VALUES (?,?,?,?,?,?,?,?,'queued',?,?,?,?)",
        (
            job["id"],
            job["proposal_id"],
            job["case_id"],
            job["action"],
            canonical_json(job["params"]).decode(),
            job["contract_ref"],
            approval_digest,
            canonical_json(options).decode(),
            not_after,
            now,
            now,
            request_id,
        ),
    )
    conn.execute("UPDATE proposals SET job_id=? WHERE id=?", (job["id"], proposal["id"]))
    return job


def job_created_event(job: dict[str, Any]) -> tuple[str, str, dict[str, Any], str]:
    return (
        "job.created",
        "engine",
        {
            "job_id": job["id"],
            "proposal_id": job["proposal_id"],
            "action": job["action"],
            "params": job["params"],
            "contract_ref": job["contract_ref"],
            "approval_digest": job["approval_digest"],
        },
        job["case_id"],
    )


def job_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "job_id": row["id"],
        "proposal_id": row["proposal_id"],
        "case_id": row["case_id"],
        "action": row["action"],
        "params": row["params"],
        "options": row["options"],
        "contract_ref": row["contract_ref"],
        "approval_digest": row["approval_digest"],
        "status": row["status"],
        "not_after": row["not_after"],
        "lease_expires_at": row["lease_expires_at"],
        "attempts": row["attempts"],
        "result_status": row["result_status"],
        "result": row["result"],
        "created_at": row["created_at"],
        "request_id": row["request_id"],
    }


def _transition_due(
    tenant: Tenant, status: str, deadline_column: str, new_status: str, event_type: str
) -> int:
    """Move every job in `status` whose deadline passed to `new_status`, recording each."""
    now = utc_now()
    where = f"status=? AND {deadline_column} IS NOT NULL AND {deadline_column}<?"
    with tenant.store.write() as conn:
        rows = conn.execute(
            f"SELECT id, case_id, lease_owner FROM jobs WHERE {where}", (status, now)
        ).fetchall()
        conn.execute(
            f"UPDATE jobs SET status=?, updated_at=? WHERE {where}", (new_status, now, status, now)
        )
    for row in rows:
        tenant.ledger.append(
            event_type,
            "engine",
            {"job_id": row["id"], "lease_owner": row["lease_owner"]},
            case_id=row["case_id"],
        )
    return len(rows)


def requeue_expired_leases(tenant: Tenant) -> int:
    return _transition_due(tenant, "leased", "lease_expires_at", "queued", "job.lease_expired")


def expire_stale_jobs(tenant: Tenant) -> int:
    """Queued jobs whose approval window closed are never handed out."""
    return _transition_due(tenant, "queued", "not_after", "expired", "job.expired")


def available_jobs(tenant: Tenant, limit: int = 10) -> list[dict[str, Any]]:
    """Queued jobs, oldest first; expired leases and approval windows are settled first."""
    sql = "SELECT * FROM jobs WHERE status IN ('queued', 'leased') ORDER BY created_at"
    rows = tenant.store.all(sql)
    if rows and any(_is_due(row, utc_now()) for row in rows):
        requeue_expired_leases(tenant)
        expire_stale_jobs(tenant)
        rows = tenant.store.all(sql)
    return [job_view(row) for row in rows if row["status"] == "queued"][:limit]


def _is_due(job: dict[str, Any], now: str) -> bool:
    if job["status"] == "leased":
        return job["lease_expires_at"] < now
    return job["not_after"] is not None and job["not_after"] < now


def touch_actor(tenant: Tenant, actor: dict[str, Any]) -> None:
    """Record that the agent was seen, at most every LAST_SEEN_EVERY seconds."""
    if actor["last_seen_at"] and actor["last_seen_at"] > iso_in(-LAST_SEEN_EVERY):
        return
    tenant.store.conn().execute(
        "UPDATE actors SET last_seen_at=? WHERE id=?", (utc_now(), actor["id"])
    )


def _require_agent(actor: dict[str, Any]) -> None:
    if not actor["is_agent"]:
        raise Forbidden("only the institution's agent runs jobs", code="not_an_agent")


def lease_job(tenant: Tenant, actor: dict[str, Any], job_id: str, seconds: int) -> dict[str, Any]:
    _require_agent(actor)
    if not 1 <= seconds <= MAX_LEASE_SECONDS:
        raise BadRequest(f"lease_seconds must be 1..{MAX_LEASE_SECONDS}", code="bad_lease")
    now = utc_now()
    with tenant.store.write() as conn:
        job = conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if job is None:
            raise NotFound(f"no job {job_id}", code="job_not_found")
        if job["not_after"] and job["not_after"] < now and job["status"] == "queued":
            conn.execute("UPDATE jobs SET status='expired', updated_at=? WHERE id=?", (now, job_id))
            expired = True
        else:
            expired = False
            renewing = job["status"] == "leased" and job["lease_owner"] == actor["id"]
            if job["status"] != "queued" and not renewing:
                raise Conflict(f"job {job_id} is {job['status']}", code="job_not_available")
            conn.execute(
                "UPDATE jobs SET status='leased', lease_owner=?, lease_expires_at=?,"
                " attempts=attempts+?, updated_at=? WHERE id=?",
                (actor["id"], iso_in(seconds), 0 if renewing else 1, now, job_id),
            )
            job = conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
    if expired:
        tenant.ledger.append("job.expired", "engine", {"job_id": job_id}, case_id=job["case_id"])
        raise Conflict(f"job {job_id} expired: its approval window closed", code="job_expired")
    if not renewing:
        tenant.ledger.append(
            "job.leased",
            actor["id"],
            {
                "job_id": job_id,
                "lease_expires_at": job["lease_expires_at"],
                "attempt": job["attempts"],
            },
            case_id=job["case_id"],
        )
    return job_view(job)


def post_result(
    tenant: Tenant, actor: dict[str, Any], job_id: str, status: str, report: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Idempotent by job id: a repeated post returns the first outcome unchanged."""
    _require_agent(actor)
    if status not in RESULT_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(RESULT_STATUSES)}", code="bad_status")
    now = utc_now()
    with tenant.store.write() as conn:
        job = conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if job is None:
            raise NotFound(f"no job {job_id}", code="job_not_found")
        if job["result_status"] is not None:
            return job_view(job), False
        if job["lease_owner"] != actor["id"] or job["status"] not in ("leased", "queued"):
            raise Conflict(
                f"job {job_id} is not leased by this agent (status {job['status']})",
                code="job_not_leased",
            )
        conn.execute(
            "UPDATE jobs SET status='done', result_status=?, result=?, updated_at=? WHERE id=?",
            (status, canonical_json(report).decode(), now, job_id),
        )
        job = conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
    tenant.ledger.append_many(
        [
            (
                "job.executed",
                actor["id"],
                {"job_id": job_id, "action": job["action"], "report": report},
                job["case_id"],
            ),
            ("job.result", "engine", {"job_id": job_id, "status": status}, job["case_id"]),
        ]
    )
    return job_view(job), True


def get_job(tenant: Tenant, job_id: str) -> dict[str, Any]:
    job = tenant.store.one("SELECT * FROM jobs WHERE id=?", (job_id,))
    if job is None:
        raise NotFound(f"no job {job_id}", code="job_not_found")
    return job_view(job)
