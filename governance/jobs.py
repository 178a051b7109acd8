import hashlib
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictInt

from governance.records import Actor, Job, Proposal
from idl.model import ActionSpec
from kernel.bodies import Body, parse
from kernel.canonical import canonical_json
from kernel.errors import BadRequest, Conflict, Forbidden, NotFound
from kernel.ids import new_id
from kernel.times import utc_in, utc_now
from tenants.database import RaiseAfterCommit, Reader, Tx
from tenants.tenant import Tenant

MAX_LEASE_SECONDS = 3600
LAST_SEEN_EVERY = 10
RESULT_STATUSES = ("succeeded", "failed", "refused")
# A report up to this size is also copied into its `job.executed` event (a rename's before and
# after hashes stay in the ledger itself); a larger one (a listing) is kept in the job, and the
# event holds its sha256, its size and its scalar fields.
REPORT_INLINE_BYTES = 64 * 1024
_JOB_COLUMNS = (
    "id, proposal_id, case_id, action, params, contract_ref, approval_digest, options, status,"
    " not_after, lease_owner, lease_expires_at, attempts, result_status, created_at, updated_at,"
    " request_id, progress, length(CAST(result AS BLOB)) AS result_bytes,"  # bytes, not characters
    f" CASE WHEN length(CAST(result AS BLOB)) <= {REPORT_INLINE_BYTES} THEN result END AS result"
)


def insert_job(
    tx: Tx,
    proposal: Proposal,
    spec: ActionSpec,
    approval_digest: str | None,
    not_after: str | None,
    request_id: str | None = None,
    job_id: str | None = None,
) -> Job:
    """Insert the job in the caller's transaction (the caller records `job.created` with
    `record_job_created`); UNIQUE(proposal_id) makes it at most one per proposal. With `job_id`
    the proposal row was written naming it already; otherwise the proposal is pointed at it."""
    now = utc_now()
    options: dict[str, str] = {"effect": spec.effect}
    if spec.delete_mode:
        options["delete_mode"] = spec.delete_mode
    assert proposal.contract_ref is not None  # a job is only ever made from a judged proposal
    job = Job(
        id=job_id or new_id("job"),
        proposal_id=proposal.id,
        case_id=proposal.case_id,
        action=proposal.action,
        params=proposal.params,
        options=options,
        contract_ref=proposal.contract_ref,
        approval_digest=approval_digest,
        not_after=not_after,
        request_id=request_id,
        created_at=now,
    )
    tx.execute(
        "INSERT INTO jobs (id, proposal_id, case_id, action, params, contract_ref, approval_digest,"
        " options, status, not_after, created_at, updated_at, request_id)"
        " VALUES (?,?,?,?,?,?,?,?,'queued',?,?,?,?)",
        (
            job.id,
            job.proposal_id,
            job.case_id,
            job.action,
            canonical_json(job.params).decode(),
            job.contract_ref,
            approval_digest,
            canonical_json(options).decode(),
            not_after,
            now,
            now,
            request_id,
        ),
    )
    if job_id is None:
        tx.execute("UPDATE proposals SET job_id=? WHERE id=?", (job.id, proposal.id))
    return job


def record_job_created(tx: Tx, job: Job) -> None:
    tx.record(
        "job.created",
        "engine",
        {
            "job_id": job.id,
            "proposal_id": job.proposal_id,
            "action": job.action,
            "params": job.params,
            "contract_ref": job.contract_ref,
            "approval_digest": job.approval_digest,
        },
        job.case_id,
    )


# Deadlines the engine settles: (status, deadline column, new status, event type).
LEASE_LAPSED = ("leased", "lease_expires_at", "queued", "job.lease_expired")
WINDOW_CLOSED = ("queued", "not_after", "expired", "job.expired")


def _due_where(deadline: str) -> str:
    return f"status=? AND {deadline} IS NOT NULL AND {deadline}<?"


def settle_due(tx: Tx, transition: tuple[str, str, str, str], now: str) -> int:
    """Move every job whose deadline passed to its next status, recording each (in `tx`)."""
    status, deadline, new_status, event_type = transition
    where = _due_where(deadline)
    rows = tx.all(f"SELECT id, case_id, lease_owner FROM jobs WHERE {where}", (status, now))
    tx.execute(
        f"UPDATE jobs SET status=?, updated_at=? WHERE {where}", (new_status, now, status, now)
    )
    for row in rows:
        tx.record(
            event_type,
            "engine",
            {"job_id": row["id"], "lease_owner": row["lease_owner"]},
            row["case_id"],
        )
    return len(rows)


def any_due(reader: Reader, transition: tuple[str, str, str, str], now: str) -> bool:
    status, deadline, _, _ = transition
    sql = f"SELECT 1 FROM jobs WHERE {_due_where(deadline)} LIMIT 1"
    return reader.conn.execute(sql, (status, now)).fetchone() is not None


@dataclass(frozen=True)
class Available:
    """What an agent's poll finds: the queued jobs (oldest first, at most the limit asked),
    and whether any job is out on a lease (it may lapse and come back)."""

    jobs: list[Job]
    leased: bool


def available_jobs(tenant: Tenant, limit: int = 10) -> Available:
    """Expired leases and approval windows are settled first."""
    sql = "SELECT * FROM jobs WHERE status IN ('queued', 'leased') ORDER BY created_at"
    rows = tenant.db.all(sql)
    if rows and any(_is_due(row, utc_now()) for row in rows):

        def settle(tx: Tx) -> list[dict[str, Any]]:  # rows
            now = utc_now()
            settle_due(tx, LEASE_LAPSED, now)
            settle_due(tx, WINDOW_CLOSED, now)
            return tx.all(sql)

        rows = tenant.db.write(settle)
    queued = [Job.from_row(row) for row in rows if row["status"] == "queued"][:limit]
    return Available(queued, any(row["status"] == "leased" for row in rows))


def _is_due(job: dict[str, Any], now: str) -> bool:  # a row, before it is a Job
    if job["status"] == "leased":
        return job["lease_expires_at"] < now
    return job["not_after"] is not None and job["not_after"] < now


def touch_actor(tenant: Tenant, actor: Actor, version: str | None = None) -> None:
    """Record that the agent was seen, at most every LAST_SEEN_EVERY seconds, and the build it
    runs (`version`, from its User-Agent) as soon as that changes."""
    recent = actor.last_seen_at and actor.last_seen_at > utc_in(-LAST_SEEN_EVERY)
    if recent and (version is None or version == actor.agent_version):
        return
    tenant.db.write(
        lambda tx: tx.execute(
            "UPDATE actors SET last_seen_at=?, agent_version=coalesce(?, agent_version) WHERE id=?",
            (utc_now(), version, actor.id),
        )
    )


def _require_agent(actor: Actor) -> None:
    if not actor.is_agent:
        raise Forbidden("only the institution's agent runs jobs", code="not_an_agent")


def _job(reader: Reader, job_id: str) -> Job:
    """The job; its report only when small (`result_bytes` says how large it is)."""
    row = reader.one(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id=?", (job_id,))
    if row is None:
        raise NotFound(f"no job {job_id}", code="job_not_found")
    return Job.from_row(row)


def lease_job(tenant: Tenant, actor: Actor, job_id: str, seconds: int) -> Job:
    _require_agent(actor)
    if not 1 <= seconds <= MAX_LEASE_SECONDS:
        raise BadRequest(f"lease_seconds must be 1..{MAX_LEASE_SECONDS}", code="bad_lease")

    def lease(tx: Tx) -> Job:
        now = utc_now()
        job = _job(tx, job_id)
        if job.status in ("queued", "leased") and _window_closed(job, now):
            _expire(tx, job, now)  # nor leased, nor renewed, once its approval window closed
        renewing = job.status == "leased" and job.lease_owner == actor.id
        if job.status != "queued" and not renewing:
            raise Conflict(f"job {job_id} is {job.status}", code="job_not_available")
        until = utc_in(seconds)
        if job.not_after and job.not_after < until:
            until = job.not_after  # a lease never outlasts the approval
        tx.execute(
            "UPDATE jobs SET status='leased', lease_owner=?, lease_expires_at=?,"
            " attempts=attempts+?, updated_at=? WHERE id=?",
            (actor.id, until, 0 if renewing else 1, now, job_id),
        )
        job = _job(tx, job_id)
        if not renewing:
            tx.record(
                "job.leased",
                actor.id,
                {
                    "job_id": job_id,
                    "lease_expires_at": job.lease_expires_at,
                    "attempt": job.attempts,
                },
                job.case_id,
            )
        return job

    return tenant.db.write(lease)


Phase = Literal["scanning", "hashing", "partial hash", "full hash"]
Count = Annotated[StrictInt, Field(ge=0, lt=2**62)] | None


class Progress(Body):
    """What a running job has done so far, as its agent says: a phase and counts, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    CODE = "bad_progress"
    phase: Phase
    done: Count = None
    total: Count = None
    bytes: Count = None


def check_progress(body: dict[str, Any]) -> dict[str, Any]:
    return parse(Progress, body).model_dump(exclude_none=True)


def record_progress(
    tenant: Tenant, actor: Actor, job_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Keep the latest progress of a job its agent is running. Not a ledger event: it decides
    nothing, and the result that ends the job is recorded in full."""
    _require_agent(actor)
    progress = check_progress(body)

    def keep(tx: Tx) -> dict[str, Any]:
        job = _job(tx, job_id)
        if job.status != "leased" or job.lease_owner != actor.id:
            raise Conflict(
                f"job {job_id} is not running on this agent (status {job.status})",
                code="job_not_leased",
            )
        tx.execute(
            "UPDATE jobs SET progress=? WHERE id=?", (canonical_json(progress).decode(), job_id)
        )
        return {"job_id": job_id, "progress": progress}

    return tenant.db.write(keep)


def report_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What a large report's event says of it besides its hash: its scalar fields, its error,
    and how many items each list holds."""
    summary: dict[str, Any] = {}
    for key, value in report.items():
        if isinstance(value, list):
            summary[f"{key}_count"] = len(value)
        elif not isinstance(value, dict) or key == "error":
            summary[key] = value
    return summary


def report_fields(report: dict[str, Any], report_json: bytes) -> dict[str, Any]:
    """What `job.executed` says of a report: its sha256 and size always, the report itself
    when small, else its summary."""
    payload: dict[str, Any] = {
        "report_sha256": hashlib.sha256(report_json).hexdigest(),
        "report_bytes": len(report_json),
    }
    if len(report_json) <= REPORT_INLINE_BYTES:
        payload["report"] = report
    else:
        payload["summary"] = report_summary(report)
    return payload


def post_result(
    tenant: Tenant, actor: Actor, job_id: str, status: str, report: dict[str, Any]
) -> tuple[Job, bool]:
    """Idempotent by job id: a repeated post returns the first outcome unchanged. The report
    is stored in the job byte for byte as its event's sha256 says (canonical JSON)."""
    _require_agent(actor)
    if status not in RESULT_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(RESULT_STATUSES)}", code="bad_status")
    report_json = canonical_json(report)
    report_facts = report_fields(report, report_json)

    def finish(tx: Tx) -> tuple[Job, bool]:
        job = _job(tx, job_id)
        if job.result_status is not None:
            return job, False
        if job.lease_owner != actor.id or job.status not in ("leased", "queued"):
            raise Conflict(
                f"job {job_id} is not leased by this agent (status {job.status})",
                code="job_not_leased",
            )
        if _window_closed(job, utc_now()):
            _expire(tx, job, utc_now(), late_result=status)  # recorded, not taken as executed
        tx.execute(
            "UPDATE jobs SET status='done', result_status=?, result=?, updated_at=? WHERE id=?",
            (status, report_json.decode(), utc_now(), job_id),
        )
        tx.record_many(
            [
                (
                    "job.executed",
                    actor.id,
                    {"job_id": job_id, "action": job.action, **report_facts},
                    job.case_id,
                ),
                ("job.result", "engine", {"job_id": job_id, "status": status}, job.case_id),
            ]
        )
        return _job(tx, job_id), True

    return tenant.db.write(finish)


def stored_report(tenant: Tenant, job_id: str) -> tuple[bytes, str]:
    """A finished job's report as stored, and its sha256."""
    with tenant.db.reader() as reader:
        row = reader.conn.execute(
            "SELECT result FROM jobs WHERE id=? AND result IS NOT NULL", (job_id,)
        ).fetchone()
    if row is None:
        raise NotFound(f"job {job_id} has no report", code="report_not_found")
    body = row[0].encode()
    return body, hashlib.sha256(body).hexdigest()


def _window_closed(job: Job, now: str) -> bool:
    return job.not_after is not None and job.not_after <= now


def _expire(tx: Tx, job: Job, now: str, late_result: str | None = None) -> None:
    """The job's approval window closed: it ends expired (recorded), and the caller is told."""
    tx.execute("UPDATE jobs SET status='expired', updated_at=? WHERE id=?", (now, job.id))
    payload: dict[str, Any] = {"job_id": job.id, "lease_owner": job.lease_owner}
    if late_result is not None:
        payload["late_result"] = late_result
    tx.record("job.expired", "engine", payload, job.case_id)
    raise RaiseAfterCommit(
        Conflict(f"job {job.id} expired: its approval window closed", code="job_expired")
    )


def get_job(tenant: Tenant, job_id: str) -> Job:
    with tenant.db.reader() as reader:
        return _job(reader, job_id)
