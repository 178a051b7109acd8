"""The one vocabulary of refusals, for the engine's domain, the console's and both HTTP edges.

A refusal says what kind of no it is (the class) and why, with a stable machine code and a
message; it carries no HTTP status. Each app maps the kinds to status codes in one table at
its HTTP edge (`functions.http.STATUS`), as httpx maps its errors at its own boundary."""


class Refused(Exception):
    """Root of the tree: a request refused, with a stable `code` and a message."""

    code = "refused"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.retry_after = retry_after  # seconds to wait before trying again, when known


class BadRequest(Refused):
    """What was asked is malformed or not allowed as asked."""

    code = "bad_request"


class Unauthorized(Refused):
    """No credential, or one that opens nothing."""

    code = "unauthorized"


class Forbidden(Refused):
    """A valid credential that may not do this."""

    code = "forbidden"


class NotFound(Refused):
    code = "not_found"


class Conflict(Refused):
    """Not in the state this needs (already decided, not leased, taken)."""

    code = "conflict"


class Gone(Refused):
    """It was there and is no more (an expired or used link)."""

    code = "gone"


class TooLarge(Refused):
    code = "too_large"


class TooMany(Refused):
    """Too many attempts for now; `retry_after` says when to come back."""

    code = "too_many"


class Unavailable(Refused):
    """Something this depends on does not answer (the engine, for the console)."""

    code = "unavailable"


class Unsupported(Refused):
    """Sent in a form this does not read (an unknown content encoding)."""

    code = "unsupported"
