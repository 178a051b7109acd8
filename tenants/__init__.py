"""Per-institution storage under the data dir."""


class TenantError(Exception):
    """Root exception of the tenants package."""
