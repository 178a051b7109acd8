"""The engine's request bodies read at its HTTP edge (the domain's own, such as a proposal,
live with it)."""

from typing import Any

from pydantic import StrictInt, StrictStr

from kernel.bodies import Body, Text


class NewInstitution(Body):
    external_id: Text
    name: Text | None = None


class NewActor(Body):
    name: Text
    role: Text


class Lease(Body):
    CODES = {"lease_seconds": "bad_lease"}
    lease_seconds: StrictInt = 300


class Result(Body):
    CODES = {"status": "missing_field", "report": "bad_report"}
    status: StrictStr
    report: dict[str, Any] = {}


class NewBundle(Body):
    """A contract's text, or a built-in one by name (`personal_ops@v1.0.0`)."""

    CODES = {"source": "missing_source", "builtin": "missing_source"}
    source: StrictStr | None = None
    builtin: StrictStr | None = None


class Release(Body):
    """The owner's approval of exactly this manifest, to move to another contract version."""

    manifest_sha256: StrictStr | None = None
