from typing import Annotated, Any

from pydantic import StrictStr, StringConstraints

from governance.context import EngineContext
from governance.contracts import active_contract
from governance.jobs import insert_job, record_job_created
from governance.proposals import (
    CONTENT_RULE,
    get_proposal,
    is_past,
    names_content,
)
from governance.records import Actor, Proposal
from governance.tokens import secrets_equal
from idl.model import ActionSpec
from kernel.bodies import Body, parse
from kernel.errors import BadRequest, Conflict, Forbidden
from kernel.times import utc_now
from tenants.database import RaiseAfterCommit, Reader, Tx
from tenants.tenant import Tenant

MAX_REASON = 2000
_DUE = "status='pending_approval' AND expires_at<?"


def expire_due(tx: Tx, now: str) -> int:
    """Pending proposals past their approval window become expired, each recorded (in `tx`)."""
    rows = tx.all(f"SELECT id, case_id FROM proposals WHERE {_DUE}", (now,))
    tx.execute(f"UPDATE proposals SET status='expired', decided_at=? WHERE {_DUE}", (now, now))
    for row in rows:
        tx.record("approval.expired", "engine", {"proposal_id": row["id"]}, row["case_id"])
    return len(rows)


def any_expired(reader: Reader, now: str) -> bool:
    sql = f"SELECT 1 FROM proposals WHERE {_DUE} LIMIT 1"
    return reader.conn.execute(sql, (now,)).fetchone() is not None


def expire_pending(tenant: Tenant) -> int:
    with tenant.db.reader() as reader:
        if not any_expired(reader, utc_now()):
            return 0
    return tenant.db.write(lambda tx: expire_due(tx, utc_now()))


def list_pending(tenant: Tenant, limit: int = 100) -> list[Proposal]:
    expire_pending(tenant)
    rows = tenant.db.all(
        "SELECT * FROM proposals WHERE status='pending_approval' ORDER BY created_at LIMIT ?",
        (limit,),
    )
    return [Proposal.from_row(row) for row in rows]


def _refusal(tx: Tx, actor: Actor, proposal: Proposal, code: str, message: str) -> RaiseAfterCommit:
    """A refused decision is recorded, then refused."""
    tx.record(
        "approval.refused",
        actor.id,
        {"proposal_id": proposal.id, "role": actor.role, "code": code, "reason": message},
        proposal.case_id,
    )
    return RaiseAfterCommit(Forbidden(message, code=code))


def _check_decider(tx: Tx, actor: Actor, proposal: Proposal) -> None:
    if actor.is_agent:
        raise _refusal(
            tx,
            actor,
            proposal,
            "agent_cannot_approve",
            "an agent token can never approve or reject",
        )
    active = active_contract(tx)
    spec = active.contract.actions.get(proposal.action) if active else None
    approvers = spec.approvers if spec else []
    if actor.role not in approvers:
        raise _refusal(
            tx,
            actor,
            proposal,
            "role_cannot_approve",
            f"role {actor.role!r} is not an approver of {proposal.action!r}"
            f" (approvers: {', '.join(approvers) or 'none'})",
        )
    if actor.id == proposal.actor_id:
        raise _refusal(
            tx,
            actor,
            proposal,
            "self_approval",
            "the proposer cannot decide their own destructive proposal",
        )
    if actor.id == proposal.requested_by and actor.role != "owner":
        # The owner may approve what they asked for themselves (a person alone acts on their
        # own folder); anyone else needs another approver for what they asked.
        raise _refusal(
            tx,
            actor,
            proposal,
            "self_approval",
            "you asked for this proposal, so another approver must decide it",
        )


def _check_open(tx: Tx, proposal: Proposal) -> None:
    if proposal.status == "pending_approval" and is_past(proposal.expires_at):
        expire_due(tx, utc_now())
        raise RaiseAfterCommit(
            Conflict(
                f"proposal {proposal.id} expired at {proposal.expires_at}",
                code="approval_expired",
            )
        )
    if proposal.status != "pending_approval":
        raise Conflict(
            f"proposal {proposal.id} is {proposal.status}, not pending",
            code="already_decided",
        )


Reason = Annotated[StrictStr, StringConstraints(max_length=MAX_REASON)]


class Approval(Body):
    CODES = {"digest": "missing_digest", "reason": "bad_reason"}
    digest: StrictStr  # of what the person reviewed
    reason: Reason = ""


class Rejection(Body):
    CODES = {"reason": "bad_reason"}
    reason: Reason = ""


def read_reason(body: dict[str, Any], required: bool, limit: int = MAX_REASON) -> str:
    """A request's `reason`: a string of at most `limit` characters (stripped)."""
    reason = parse(Rejection, body).reason
    if len(reason) > limit:
        raise BadRequest(
            f"'reason' must be a string of at most {limit} characters", code="bad_reason"
        )
    if required and not reason.strip():
        raise BadRequest("a rejection needs a 'reason'", code="missing_reason")
    return reason.strip()


def _close(tx: Tx, proposal_id: str, status: str, actor: Actor, reason: str) -> None:
    """Decide a pending proposal exactly once, even under concurrent deciders."""
    updated = tx.execute(
        "UPDATE proposals SET status=?, decided_by=?, decided_at=?, decision_reason=?"
        " WHERE id=? AND status='pending_approval'",
        (status, actor.id, utc_now(), reason, proposal_id),
    )
    if updated != 1:
        raise Conflict(f"proposal {proposal_id} was decided concurrently", code="already_decided")


def approve(
    ctx: EngineContext,
    tenant: Tenant,
    actor: Actor,
    proposal_id: str,
    body: dict[str, Any],
    request_id: str | None = None,
) -> Proposal:
    asked = parse(Approval, body)
    reason, digest = asked.reason.strip(), asked.digest

    def decide(tx: Tx) -> Proposal:
        proposal = get_proposal(tx, proposal_id)
        _check_decider(tx, actor, proposal)
        _check_open(tx, proposal)
        if not secrets_equal(digest, proposal.digest or ""):
            raise Conflict(
                "digest does not match the pending action; review it again", code="digest_mismatch"
            )
        active = active_contract(tx)
        if active is None or active.manifest_sha256 != proposal.manifest_sha256:
            raise Conflict(
                "the released contract changed since this proposal; propose it again",
                code="contract_changed",
            )
        spec = active.contract.actions[proposal.action]
        if spec.effect == "destructive" and not names_content(spec, proposal.params):
            raise Conflict(
                f"{CONTENT_RULE}: this proposal names no content (no sha256 the agent observed),"
                " so it cannot be approved; ask again so the agent looks at the file first",
                code="content_unnamed",
            )
        _close(tx, proposal_id, "approved", actor, reason)
        _grant(tx, proposal, spec, actor, reason, request_id)
        return get_proposal(tx, proposal_id)  # pointed at its job now

    proposal = tenant.db.write(decide)
    ctx.notifier.notify(tenant.institution_id)
    return proposal


def _grant(
    tx: Tx,
    proposal: Proposal,
    spec: ActionSpec,
    actor: Actor,
    reason: str,
    request_id: str | None,
) -> None:
    """The one job the approval authorizes; `approval.granted` names it, `job.created` follows."""
    job = insert_job(tx, proposal, spec, proposal.digest, proposal.expires_at, request_id)
    tx.record(
        "approval.granted",
        actor.id,
        {
            "proposal_id": proposal.id,
            "digest": proposal.digest,
            "role": actor.role,
            "reason": reason,
            "job_id": job.id,
        },
        proposal.case_id,
    )
    record_job_created(tx, job)


def reject(tenant: Tenant, actor: Actor, proposal_id: str, body: dict[str, Any]) -> Proposal:
    reason = read_reason(body, required=True)

    def decide(tx: Tx) -> Proposal:
        proposal = get_proposal(tx, proposal_id)
        _check_decider(tx, actor, proposal)
        _check_open(tx, proposal)
        _close(tx, proposal_id, "rejected", actor, reason)
        tx.record(
            "approval.rejected",
            actor.id,
            {"proposal_id": proposal_id, "role": actor.role, "reason": reason},
            proposal.case_id,
        )
        return get_proposal(tx, proposal_id)

    return tenant.db.write(decide)
