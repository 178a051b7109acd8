"""What the engine's HTTP answers mean, for both of its clients (the console's and the
agent's): its JSON error envelope read in one place, and its statuses turned back into the kinds
of refusal its edge gave them (`functions.http.STATUS`, read the other way)."""

import json

from kernel.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    Refused,
    TooLarge,
    TooMany,
    Unauthorized,
    Unavailable,
    Unsupported,
)

REFUSALS: dict[int, type[Refused]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: TooLarge,
    415: Unsupported,
    429: TooMany,
}


def retry_seconds(retry_after: str | None) -> int | None:
    """A `Retry-After` of whole seconds (ASCII digits: `int` refuses other scripts' digits that
    `isdigit` takes); None for anything else, an HTTP date included."""
    if retry_after and retry_after.isascii() and retry_after.isdigit():
        return int(retry_after)
    return None


def refusal(status: int, body: bytes, retry_after: str | None = None) -> Refused:
    """The engine's `{"error": {"code", "message"}}` as a refusal of the kind its status says
    (a 5xx is `Unavailable`); an answer without the envelope (a proxy's page) keeps its status
    as the reason."""
    try:
        error = json.loads(body)["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "engine_error", f"engine answered {status}"
    kind = REFUSALS.get(status, BadRequest) if 400 <= status < 500 else Unavailable
    return kind(message, code=code, retry_after=retry_seconds(retry_after))
