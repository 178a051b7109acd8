"""Per-institution storage under the data dir: one SQLite file per institution."""


class TenantError(Exception):
    """Root exception of the tenants package."""


class InstitutionMissing(TenantError):
    """No institution file under this id (never created, or a malformed id)."""


class InstitutionUnavailable(TenantError):
    """The institution exists but its file cannot be used now (missing, corrupt, not migrated,
    written by a newer engine). Other institutions are unaffected."""

    def __init__(self, institution_id: str, reason: str) -> None:
        super().__init__(f"institution {institution_id} is unavailable: {reason}")
        self.institution_id = institution_id
        self.reason = reason


class StorageFull(TenantError):
    """The disk holding the data dir is full: nothing was written; retry when space is back."""
