"""The Engine's authority: institutions, actors, contracts, proposals, approvals, jobs."""


class GovernanceError(Exception):
    """Root exception: a refused request, carrying the HTTP status and a stable code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class BadRequest(GovernanceError):
    status, code = 400, "bad_request"


class Unauthorized(GovernanceError):
    status, code = 401, "unauthorized"


class Forbidden(GovernanceError):
    status, code = 403, "forbidden"


class NotFound(GovernanceError):
    status, code = 404, "not_found"


class Conflict(GovernanceError):
    status, code = 409, "conflict"
