"""The clock's sweep: settle every deadline that passed, in every institution, a page of
institutions at a time (the open-institution cache bounds what stays open)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from governance.approvals import any_expired, expire_due
from governance.jobs import LEASE_LAPSED, WINDOW_CLOSED, any_due, settle_due
from governance.retention import propose_due_purge
from kernel.times import utc_now
from tenants import TenantError
from tenants.database import Tx
from tenants.registry import Registry
from tenants.tenant import Tenant, Tenants

PAGE = 500
log = logging.getLogger("libervia.clock")


@dataclass
class SweepCounts:
    institutions: int = 0
    unavailable: int = 0
    approvals_expired: int = 0
    leases_requeued: int = 0
    jobs_expired: int = 0
    purges_proposed: int = 0


def settle_deadlines(tenant: Tenant) -> tuple[int, int, int]:
    """(approvals expired, leases re-queued, jobs expired): one read when nothing is due,
    else one transaction for all three."""
    now = utc_now()
    with tenant.db.reader() as reader:
        if not (
            any_expired(reader, now)
            or any_due(reader, LEASE_LAPSED, now)
            or any_due(reader, WINDOW_CLOSED, now)
        ):
            return 0, 0, 0

    def settle(tx: Tx) -> tuple[int, int, int]:
        at = utc_now()
        return (
            expire_due(tx, at),
            settle_due(tx, LEASE_LAPSED, at),
            settle_due(tx, WINDOW_CLOSED, at),
        )

    return tenant.db.write(settle)


def sweep(
    registry: Registry,
    tenants: Tenants,
    page: int = PAGE,
    on_requeued: Callable[[str], None] | None = None,
    retention: bool = True,
    stopping: Callable[[], bool] = lambda: False,
) -> SweepCounts:
    """Expire pending approvals and stale jobs, re-queue jobs whose lease ran out (and tell
    `on_requeued` which institutions have jobs to hand out again); with `retention`, propose
    purging quarantined files past the contract's retention period. Between institutions it
    ends early once `stopping()` says so (each institution's step is its own transaction)."""
    counts = SweepCounts()
    after = ""
    while institutions := registry.page(after, page):
        for institution in institutions:
            if stopping():
                return counts
            try:
                tenant = tenants.get(institution.id)
                expired, requeued, stale = settle_deadlines(tenant)
                if retention and propose_due_purge(tenant) is not None:
                    counts.purges_proposed += 1
            except TenantError as exc:
                counts.unavailable += 1
                log.error(
                    "institution skipped",
                    extra={"fields": {"institution_id": institution.id, "problem": str(exc)}},
                )
                continue
            counts.institutions += 1
            if requeued and on_requeued is not None:
                on_requeued(institution.id)
            counts.approvals_expired += expired
            counts.leases_requeued += requeued
            counts.jobs_expired += stale
        after = institutions[-1].id
    return counts
