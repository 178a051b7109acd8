"""Times as the stores keep them: UTC, ISO 8601 with a `Z`."""

from datetime import UTC, datetime, timedelta


def iso(moment: datetime, timespec: str = "microseconds") -> str:
    """`2026-01-31T12:00:00.000000Z` (the engine, its ledger, the agent); the accounts store
    keeps `timespec="seconds"` (see `stamp`)."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_now() -> str:
    return iso(datetime.now(UTC))


def utc_in(seconds: float) -> str:
    """`utc_now()` moved by `seconds` (negative: in the past)."""
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


def stamp(moment: datetime) -> str:
    """A time as the accounts store keeps it: to the second, `2026-01-31T12:00:00Z`."""
    return iso(moment, "seconds")


def stamp_now() -> str:
    return stamp(datetime.now(UTC))
