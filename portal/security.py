"""Sessions, CSRF and login throttling for the console."""

import secrets
import threading
import time
from collections import defaultdict, deque

from starlette.requests import Request

from kernel.errors import Forbidden, TooMany, Unauthorized
from portal.i18n import _

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, form_token: str | None = None) -> None:
    """Unsafe requests must come from our own pages and carry the session's CSRF token."""
    if request.method not in UNSAFE:
        return
    site = request.headers.get("sec-fetch-site")
    if site and site not in ("same-origin", "none"):
        raise Forbidden(f"cross-site request refused ({site})", code="csrf")
    origin = request.headers.get("origin")
    if origin and origin.split("://", 1)[-1] != request.headers.get("host"):
        raise Forbidden("request origin does not match this site", code="csrf")
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token") or form_token
    if (
        not isinstance(expected, str)
        or not isinstance(given, str)
        or not secrets.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))
    ):
        raise Forbidden("missing or wrong CSRF token; reload the page", code="csrf")


class LoginThrottle:
    """At most `attempts` failed logins per key in `window` seconds."""

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        with self._lock:
            failures = self._prune(key)
            if len(failures) >= self.attempts:
                retry = int(failures[0] + self.window - time.monotonic()) + 1
                raise TooMany(
                    _("Too many failed sign-ins; try again in %(seconds)s s.", seconds=retry),
                    code="too_many_attempts",
                    retry_after=retry,
                )

    def failed(self, key: str) -> None:
        with self._lock:
            self._prune(key).append(time.monotonic())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, key: str) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] < time.monotonic() - self.window:
            failures.popleft()
        return failures


def login(request: Request, session_id: str) -> None:
    """The cookie for a session opened server-side (portal.sessions.open_session)."""
    request.session.clear()
    request.session["sid"] = session_id
    request.session["csrf"] = secrets.token_urlsafe(32)


def signed_in_user(request: Request) -> str | None:
    """The user of the request's live session (checked by SessionCheck), if any."""
    return request.scope.get("user_id")


def current_user_id(request: Request) -> str:
    user_id = signed_in_user(request)
    if not user_id:
        raise Unauthorized("sign in first", code="not_signed_in")
    return user_id
