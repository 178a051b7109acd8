"""Departments an institution has activated. Activation is an engine step recorded in the
ledger (`department.activated`); once an institution has activated any department, proposals
in a department it has not activated are denied (institutions that never activated one, from
before activation existed, are judged by their contract alone)."""

from typing import Any

from governance.contracts import active_contract
from kernel.errors import BadRequest
from kernel.times import utc_now
from tenants.database import Reader, Tx
from tenants.tenant import Tenant

PREFIX = "department:"
RULE = "engine.department_active"


def active_departments(reader: Reader) -> dict[str, str]:
    """Activated department -> when."""
    rows = reader.conn.execute(
        "SELECT key, value FROM meta WHERE key >= ? AND key < ?", (PREFIX, PREFIX[:-1] + ";")
    ).fetchall()
    return {key.removeprefix(PREFIX): value for key, value in rows}


def inactive_reason(reader: Reader, department: str) -> str | None:
    """Why a proposal in `department` is refused, or None when the department may act."""
    active = active_departments(reader)
    if not active or department in active:
        return None
    return (
        f"department {department!r} is not active for this institution"
        f" (active: {', '.join(sorted(active))})"
    )


def activate(tenant: Tenant, department: str, by: str = "institution_admin") -> dict[str, Any]:
    """Activate a department the released contract declares; idempotent."""

    def work(tx: Tx) -> dict[str, Any]:
        active = active_contract(tx)
        if active is None:
            raise BadRequest("release a contract first", code="no_released_contract")
        contract = active.contract
        if department not in contract.contract.departments:
            known = ", ".join(contract.contract.departments)
            raise BadRequest(
                f"{contract.ref} declares no department {department!r} (it has: {known})",
                code="unknown_department",
            )
        when = tx.meta(PREFIX + department)
        if when is not None:
            return {"department": department, "activated_at": when, "activated": False}
        when = utc_now()
        tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (PREFIX + department, when))
        tx.record(
            "department.activated", by, {"department": department, "contract_ref": contract.ref}
        )
        return {"department": department, "activated_at": when, "activated": True}

    return tenant.db.write(work)
