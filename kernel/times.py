"""Times as the stores keep them: UTC, ISO 8601 with a `Z`."""

from datetime import UTC, datetime, timedelta


def iso(moment: datetime, timespec: str = "microseconds") -> str:
    """`2026-01-31T12:00:00.000000Z` (the engine, its ledger, the agent); the accounts store
    keeps `timespec="seconds"` (see `stamp`)."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


class Clock:
    """Where the engine's "now" comes from: the system's, moved forward by a test that runs the
    engine in its own process (`advance`) instead of editing files or sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)

    def reset(self) -> None:
        self.offset = timedelta(0)


CLOCK = Clock()


def utc_now() -> str:
    return iso(CLOCK.now())


def utc_in(seconds: float) -> str:
    """`utc_now()` moved by `seconds` (negative: in the past)."""
    return iso(CLOCK.now() + timedelta(seconds=seconds))


def stamp(moment: datetime) -> str:
    """A time as the accounts store keeps it: to the second, `2026-01-31T12:00:00Z`."""
    return iso(moment, "seconds")


def stamp_now() -> str:
    return stamp(datetime.now(UTC))
