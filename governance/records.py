"""Typed records the Engine's domain hands across package boundaries."""

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Actor:
    """An institution's actor as its token proves it: a person in a role, or the agent."""

    id: str
    name: str
    role: str
    is_agent: bool
    last_seen_at: str | None = None
    agent_version: str | None = None


@dataclass(frozen=True)
class Proposal:
    """An action asked of the Engine, as judged: its decision, and what became of it."""

    id: str
    case_id: str
    actor_id: str
    action: str
    params: dict[str, Any]
    department: str
    contract_ref: str | None
    manifest_sha256: str | None
    decision: str
    status: str
    rule: str
    reason: str
    digest: str | None
    created_at: str
    expires_at: str | None
    decided_by: str | None = None
    decided_at: str | None = None
    decision_reason: str | None = None
    job_id: str | None = None
    requested_by: str | None = None
    reason_code: str | None = None  # said when decided; not stored with the row
    reason_args: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Proposal":
        return cls(**{name: row[name] for name in _PROPOSAL_FIELDS if name in row})

    def view(self) -> dict[str, Any]:
        """As the API shows it."""
        return {"proposal_id": self.id, **{name: getattr(self, name) for name in _PROPOSAL_VIEW}}


@dataclass(frozen=True)
class Job:
    """The one execution a decision authorized, as the agent leases, runs and reports it. Its
    report (`result`) is held only when small; `result_bytes` says how large it is."""

    id: str
    proposal_id: str
    case_id: str
    action: str
    params: dict[str, Any]
    options: dict[str, Any]
    contract_ref: str
    approval_digest: str | None
    not_after: str | None
    request_id: str | None
    status: str = "queued"
    lease_owner: str | None = None
    lease_expires_at: str | None = None
    attempts: int = 0
    result_status: str | None = None
    result: Any = None
    result_bytes: int | None = None
    progress: dict[str, Any] | None = None
    created_at: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Job":
        return cls(**{name: row[name] for name in _JOB_FIELDS if name in row})

    def view(self) -> dict[str, Any]:
        """As the API shows it."""
        return {"job_id": self.id, **{name: getattr(self, name) for name in _JOB_VIEW}}


_PROPOSAL_FIELDS = [f.name for f in fields(Proposal)]
_PROPOSAL_VIEW = [name for name in _PROPOSAL_FIELDS if name != "id"]
_JOB_FIELDS = [f.name for f in fields(Job)]
_JOB_VIEW = [name for name in _JOB_FIELDS if name not in ("id", "lease_owner")]
