"""Hash-chained, append-only, per-institution event log."""


class LedgerError(Exception):
    """Root exception of the ledger package."""
