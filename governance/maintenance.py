"""The clock's sweep: settle every deadline that passed, in every institution."""

from dataclasses import dataclass

from governance.approvals import expire_pending
from governance.jobs import expire_stale_jobs, requeue_expired_leases
from tenants import TenantError
from tenants.registry import Registry
from tenants.tenant import Tenants


@dataclass
class SweepCounts:
    institutions: int = 0
    approvals_expired: int = 0
    leases_requeued: int = 0
    jobs_expired: int = 0


def sweep(registry: Registry, tenants: Tenants) -> SweepCounts:
    """Expire pending approvals and stale jobs, re-queue jobs whose lease ran out."""
    counts = SweepCounts()
    for institution in registry.all():
        try:
            tenant = tenants.get(institution.id)
        except TenantError:
            continue  # registered a moment ago; its folder is still being made
        counts.institutions += 1
        counts.approvals_expired += expire_pending(tenant)
        counts.leases_requeued += requeue_expired_leases(tenant)
        counts.jobs_expired += expire_stale_jobs(tenant)
    return counts
