from typing import Any

from governance import BadRequest, Conflict, Forbidden
from governance.context import EngineContext
from governance.contracts import active_contract
from governance.jobs import create_job, job_created_event
from governance.proposals import get_proposal, is_past, proposal_view
from governance.tokens import secrets_equal
from ledger.store import utc_now
from tenants.tenant import Tenant

MAX_REASON = 2000


def expire_pending(tenant: Tenant) -> int:
    """Pending proposals past their approval window become expired (and are recorded)."""
    now = utc_now()
    with tenant.store.write() as conn:
        rows = conn.execute(
            "SELECT id, case_id FROM proposals WHERE status='pending_approval' AND expires_at<?",
            (now,),
        ).fetchall()
        conn.execute(
            "UPDATE proposals SET status='expired', decided_at=? WHERE status='pending_approval'"
            " AND expires_at<?",
            (now, now),
        )
    for row in rows:
        tenant.ledger.append(
            "approval.expired", "engine", {"proposal_id": row["id"]}, case_id=row["case_id"]
        )
    return len(rows)


def list_pending(tenant: Tenant, limit: int = 100) -> list[dict[str, Any]]:
    expire_pending(tenant)
    rows = tenant.store.all(
        "SELECT * FROM proposals WHERE status='pending_approval' ORDER BY created_at LIMIT ?",
        (limit,),
    )
    return [proposal_view(row) for row in rows]


def _refuse(
    tenant: Tenant, actor: dict[str, Any], proposal: dict[str, Any], code: str, message: str
) -> Forbidden:
    tenant.ledger.append(
        "approval.refused",
        actor["id"],
        {"proposal_id": proposal["id"], "role": actor["role"], "code": code, "reason": message},
        case_id=proposal["case_id"],
    )
    return Forbidden(message, code=code)


def _check_decider(tenant: Tenant, actor: dict[str, Any], proposal: dict[str, Any]) -> None:
    if actor["is_agent"]:
        raise _refuse(
            tenant,
            actor,
            proposal,
            "agent_cannot_approve",
            "an agent token can never approve or reject",
        )
    active = active_contract(tenant)
    spec = active[0].actions.get(proposal["action"]) if active else None
    approvers = spec.approvers if spec else []
    if actor["role"] not in approvers:
        raise _refuse(
            tenant,
            actor,
            proposal,
            "role_cannot_approve",
            f"role {actor['role']!r} is not an approver of {proposal['action']!r}"
            f" (approvers: {', '.join(approvers) or 'none'})",
        )
    if actor["id"] == proposal["actor_id"]:
        raise _refuse(
            tenant,
            actor,
            proposal,
            "self_approval",
            "the proposer cannot decide their own destructive proposal",
        )


def _check_open(tenant: Tenant, proposal: dict[str, Any]) -> None:
    if proposal["status"] == "pending_approval" and is_past(proposal["expires_at"]):
        expire_pending(tenant)
        raise Conflict(
            f"proposal {proposal['id']} expired at {proposal['expires_at']}",
            code="approval_expired",
        )
    if proposal["status"] != "pending_approval":
        raise Conflict(
            f"proposal {proposal['id']} is {proposal['status']}, not pending",
            code="already_decided",
        )


def _reason(body: dict[str, Any], required: bool) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise BadRequest(
            f"'reason' must be a string of at most {MAX_REASON} characters", code="bad_reason"
        )
    if required and not reason.strip():
        raise BadRequest("a rejection needs a 'reason'", code="missing_reason")
    return reason.strip()


def _close(conn: Any, proposal_id: str, status: str, actor: dict[str, Any], reason: str) -> None:
    """Decide a pending proposal exactly once, even under concurrent deciders."""
    updated = conn.execute(
        "UPDATE proposals SET status=?, decided_by=?, decided_at=?, decision_reason=?"
        " WHERE id=? AND status='pending_approval'",
        (status, actor["id"], utc_now(), reason, proposal_id),
    ).rowcount
    if updated != 1:
        raise Conflict(f"proposal {proposal_id} was decided concurrently", code="already_decided")


def approve(
    ctx: EngineContext,
    tenant: Tenant,
    actor: dict[str, Any],
    proposal_id: str,
    body: dict[str, Any],
    request_id: str | None = None,
) -> dict[str, Any]:
    proposal = get_proposal(tenant, proposal_id)
    reason = _reason(body, required=False)
    digest = body.get("digest")
    if not isinstance(digest, str):
        raise BadRequest(
            "field 'digest' (the digest of what you reviewed) is required", code="missing_digest"
        )
    _check_decider(tenant, actor, proposal)
    _check_open(tenant, proposal)
    if not secrets_equal(digest, proposal["digest"] or ""):
        raise Conflict(
            "digest does not match the pending action; review it again", code="digest_mismatch"
        )
    active = active_contract(tenant)
    if active is None or active[1] != proposal["manifest_sha256"]:
        raise Conflict(
            "the released contract changed since this proposal; propose it again",
            code="contract_changed",
        )
    spec = active[0].actions[proposal["action"]]
    with tenant.store.write() as conn:
        _close(conn, proposal_id, "approved", actor, reason)
        job = create_job(
            conn, proposal, spec, proposal["digest"], proposal["expires_at"], request_id
        )
    granted = {
        "proposal_id": proposal_id,
        "digest": proposal["digest"],
        "role": actor["role"],
        "reason": reason,
        "job_id": job["id"],
    }
    tenant.ledger.append_many(
        [
            ("approval.granted", actor["id"], granted, proposal["case_id"]),
            job_created_event(job),
        ]
    )
    ctx.notifier.notify(tenant.institution_id)
    return proposal_view(get_proposal(tenant, proposal_id))


def reject(
    tenant: Tenant, actor: dict[str, Any], proposal_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    proposal = get_proposal(tenant, proposal_id)
    reason = _reason(body, required=True)
    _check_decider(tenant, actor, proposal)
    _check_open(tenant, proposal)
    with tenant.store.write() as conn:
        _close(conn, proposal_id, "rejected", actor, reason)
    tenant.ledger.append(
        "approval.rejected",
        actor["id"],
        {"proposal_id": proposal_id, "role": actor["role"], "reason": reason},
        case_id=proposal["case_id"],
    )
    return proposal_view(get_proposal(tenant, proposal_id))
