import hashlib
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import StrictStr, StringConstraints

from governance.context import EngineContext
from governance.contracts import active_contract
from governance.departments import RULE as DEPARTMENT_RULE
from governance.departments import inactive_reason
from governance.jobs import insert_job, record_job_created
from governance.records import Actor, Proposal
from idl.model import ActionSpec
from idl.params import ParamError, check_params
from idl.validator import content_params
from kernel.bodies import Body, parse
from kernel.canonical import canonical_json
from kernel.errors import NotFound
from kernel.ids import new_id
from kernel.times import utc_in, utc_now
from ledger.store import new_case_id
from tenants.database import Reader, Tx
from tenants.tenant import Tenant

CONTENT_RULE = "engine.destructive_names_content"


def names_content(spec: ActionSpec, params: dict[str, Any]) -> bool:
    """Whether `params` name the content the action acts on: a sha256, or files with theirs."""
    return any(params.get(name) for name in content_params(spec))


def approval_digest(
    proposal_id: str, action: str, params: dict[str, Any], contract_ref: str, manifest_sha256: str
) -> str:
    """What a human approves: this exact action, these parameters, this contract version."""
    bound = {
        "proposal_id": proposal_id,
        "action": action,
        "params": params,
        "contract_ref": contract_ref,
        "manifest_sha256": manifest_sha256,
    }
    return hashlib.sha256(canonical_json(bound)).hexdigest()


@dataclass(frozen=True)
class Decision:
    """The engine's verdict (`allowed`, `pending_approval`, `denied`): the rule that decided,
    the reason in English, and the same reason as a stable `code` with its `args` (the portal
    says it in the reader's language)."""

    decision: str
    rule: str
    reason: str
    code: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Judgement:
    """A decision and what it was reached on: the parameters (as checked, once they were), the
    action's contract entry and the contract (absent when the judging stopped before them)."""

    decision: Decision
    params: dict[str, Any]
    spec: ActionSpec | None = None
    contract_ref: str | None = None
    manifest_sha256: str | None = None


def _judge(
    reader: Reader,
    actor: Actor,
    action_name: str,
    params: Any,
    department: str | None,
    requester: Actor | None = None,
) -> Judgement:
    active = active_contract(reader)
    if active is None:
        return Judgement(
            Decision(
                "denied",
                "engine.no_released_contract",
                "no contract is released for this institution; nothing can run",
                "no_contract",
            ),
            params if isinstance(params, dict) else {},
            None,
            None,
            None,
        )
    contract, manifest_sha256 = active.contract, active.manifest_sha256
    ref = contract.ref
    raw = params if isinstance(params, dict) else {}
    spec = contract.actions.get(action_name)
    if spec is None:
        allowed = ", ".join(sorted(contract.actions))
        return Judgement(
            Decision(
                "denied",
                f"{ref} actions",
                f"action {action_name!r} is not in contract {ref} (known: {allowed})",
                "unknown_action",
                {"action": action_name, "known": sorted(contract.actions)},
            ),
            raw,
            None,
            ref,
            manifest_sha256,
        )
    where = f"{ref} actions.{action_name}"
    dept = department or spec.department
    if dept != spec.department:
        return Judgement(
            Decision(
                "denied",
                f"{where}.department",
                f"action {action_name!r} belongs to department {spec.department!r}, not {dept!r}",
                "wrong_department",
                {"action": action_name, "department": spec.department, "asked": dept},
            ),
            raw,
            spec,
            ref,
            manifest_sha256,
        )
    if (inactive := inactive_reason(reader, dept)) is not None:
        return Judgement(
            Decision(
                "denied", DEPARTMENT_RULE, inactive, "department_inactive", {"department": dept}
            ),
            raw,
            spec,
            ref,
            manifest_sha256,
        )
    if actor.role not in spec.roles:
        return Judgement(
            Decision(
                "denied",
                f"{where}.roles",
                f"role {actor.role!r} may not propose {action_name!r}"
                f" (allowed: {', '.join(spec.roles)})",
                "role_may_not_propose",
                {"role": actor.role, "action": action_name, "allowed": list(spec.roles)},
            ),
            raw,
            spec,
            ref,
            manifest_sha256,
        )
    if requester is not None and requester.role not in spec.roles:
        return Judgement(
            Decision(
                "denied",
                f"{where}.roles",
                f"role {requester.role!r} may not ask for {action_name!r}"
                f" (allowed: {', '.join(spec.roles)})",
                "role_may_not_ask",
                {"role": requester.role, "action": action_name, "allowed": list(spec.roles)},
            ),
            raw,
            spec,
            ref,
            manifest_sha256,
        )
    try:
        checked = check_params(spec, params)
    except ParamError as exc:
        return Judgement(
            Decision(
                "denied",
                f"{where}.params.{exc.param}",
                str(exc),
                f"param_{exc.code}",
                {"param": exc.param, **exc.args_},
            ),
            raw,
            spec,
            ref,
            manifest_sha256,
        )
    if spec.effect == "destructive" and not names_content(spec, checked):
        return Judgement(
            Decision(
                "denied",
                CONTENT_RULE,
                f"{action_name!r} is destructive, so the proposal must name the content it acts"
                " on (the sha256 the agent observed); ask the agent to list the files first",
                "content_not_named",
                {"action": action_name},
            ),
            checked,
            spec,
            ref,
            manifest_sha256,
        )
    if spec.approval == "required":
        return Judgement(
            Decision(
                "pending_approval",
                f"{where}.approval",
                f"{action_name!r} is {spec.effect} and requires approval by"
                f" {' or '.join(spec.approvers)}",
                "needs_approval",
                {"action": action_name, "effect": spec.effect, "approvers": list(spec.approvers)},
            ),
            checked,
            spec,
            ref,
            manifest_sha256,
        )
    return Judgement(
        Decision(
            "allowed",
            f"{where}.approval",
            f"{action_name!r} is {spec.effect}-only and allowed for role"
            f" {actor.role!r} without approval",
            "allowed",
            {"action": action_name, "effect": spec.effect, "role": actor.role},
        ),
        checked,
        spec,
        ref,
        manifest_sha256,
    )


@dataclass(frozen=True)
class Submission:
    action: str
    params: Any
    department: str | None
    case_id: str


class ProposalBody(Body):
    CODES = {"action": "missing_action", "department": "bad_department", "case_id": "bad_case_id"}
    action: Annotated[StrictStr, StringConstraints(min_length=1)]
    params: Any = {}
    department: StrictStr | None = None
    # The case's id joins its log lines too: the characters a log accepts in an id.
    case_id: Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")] | None = (
        None
    )


def parse_submission(body: dict[str, Any]) -> Submission:
    asked = parse(ProposalBody, body)
    # A long unknown name is still judged (and denied in the ledger), by its first 128 characters.
    return Submission(
        asked.action[:128], asked.params, asked.department, asked.case_id or new_case_id()
    )


def decide(
    tx: Tx,
    actor: Actor,
    submission: Submission,
    request_id: str | None = None,
    requester: Actor | None = None,
) -> tuple[Proposal, bool]:
    """Judge a proposal against the released contract and record it (with its job when it is
    allowed), in `tx`. Returns the proposal and whether a job was created. `requester`
    is the person who asked the submitting actor for it (authenticated by their own token):
    their role must be allowed too, and the ledger names them."""
    action, department, case_id = submission.action, submission.department, submission.case_id
    judged = _judge(tx, actor, action, submission.params, department, requester)
    decision, params, spec = judged.decision, judged.params, judged.spec
    ref, manifest_sha256 = judged.contract_ref, judged.manifest_sha256
    requested_by = requester.id if requester is not None else None
    proposal_id = new_id("prop")
    job_id = new_id("job") if decision.decision == "allowed" else None
    now = utc_now()
    digest = expires_at = None
    if decision.decision == "pending_approval":
        assert spec is not None and ref is not None and manifest_sha256 is not None
        digest = approval_digest(proposal_id, action, params, ref, manifest_sha256)
        expires_at = utc_in(spec.approval_ttl_seconds)
    status = {"allowed": "authorized", "denied": "denied"}.get(
        decision.decision, "pending_approval"
    )
    proposal = Proposal(
        id=proposal_id,
        case_id=case_id,
        actor_id=actor.id,
        action=action,
        params=params,
        department=department or (spec.department if spec else ""),
        contract_ref=ref,
        manifest_sha256=manifest_sha256,
        decision=decision.decision,
        status=status,
        rule=decision.rule,
        reason=decision.reason,
        digest=digest,
        created_at=now,
        expires_at=expires_at,
        job_id=job_id,
        requested_by=requested_by,
        reason_code=decision.code,
        reason_args=decision.args,
    )
    tx.execute(
        "INSERT INTO proposals (id, case_id, actor_id, action, params, department,"
        " contract_ref, manifest_sha256, decision, status, rule, reason, digest, created_at,"
        " expires_at, job_id, requested_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            proposal_id,
            case_id,
            actor.id,
            action,
            canonical_json(params).decode(),
            proposal.department,
            ref,
            manifest_sha256,
            decision.decision,
            status,
            decision.rule,
            decision.reason,
            digest,
            now,
            expires_at,
            job_id,
            requested_by,
        ),
    )
    recorded = {
        "proposal_id": proposal_id,
        "action": action,
        "params": params,
        "role": actor.role,
        "contract_ref": ref,
        "rule": decision.rule,
        "reason": decision.reason,
        "reason_code": decision.code,
        "reason_args": decision.args,
        "digest": digest,
    }
    if requester is not None:
        recorded |= {"requested_by": requester.id, "requester_role": requester.role}
    tx.record(f"proposal.{decision.decision}", actor.id, recorded, case_id)
    if job_id is not None:
        assert spec is not None  # allowed: judged against the action's entry
        record_job_created(tx, insert_job(tx, proposal, spec, None, None, request_id, job_id))
    return proposal, job_id is not None


def submit_proposal(
    ctx: EngineContext,
    tenant: Tenant,
    actor: Actor,
    body: dict[str, Any],
    request_id: str | None = None,
) -> Proposal:
    submission = parse_submission(body)
    proposal, job_created = tenant.db.write(lambda tx: decide(tx, actor, submission, request_id))
    if job_created:
        ctx.notifier.notify(tenant.institution_id)
    return proposal


def get_proposal(reader: Reader, proposal_id: str) -> Proposal:
    row = reader.one("SELECT * FROM proposals WHERE id=?", (proposal_id,))
    if row is None:
        raise NotFound(f"no proposal {proposal_id}", code="proposal_not_found")
    return Proposal.from_row(row)


def list_proposals(tenant: Tenant, status: str | None, limit: int) -> list[Proposal]:
    if status:
        rows = tenant.db.all(
            "SELECT * FROM proposals WHERE status=? ORDER BY created_at DESC LIMIT ?",
            (status, limit),
        )
    else:
        rows = tenant.db.all("SELECT * FROM proposals ORDER BY created_at DESC LIMIT ?", (limit,))
    return [Proposal.from_row(row) for row in rows]


def is_past(timestamp: str | None) -> bool:
    return timestamp is not None and timestamp < utc_now()
