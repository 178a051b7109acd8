"""Email verification and password reset by signed, time-limited links (itsdangerous).

A reset link carries a fingerprint of the password hash it was issued against, so it works once:
setting a password changes the hash and every earlier link dies with it. A reset ends every
session of the account. Asking for a reset answers the same whether or not the address has an
account, so nobody learns who has one.
"""

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from kernel.errors import BadRequest, Gone
from kernel.times import stamp, stamp_now
from portal import letters, mail
from portal.accounts import EMAIL, set_password
from portal.db import Database
from portal.i18n import _
from portal.sessions import revoke_all

RESET_SECONDS = 3600
VERIFY_SECONDS = 3 * 86400
RESETS_PER_HOUR = 3  # reset (or confirmation) emails to one address, so no form floods an inbox


class Links:
    """Signs and reads the two kinds of link with the console's secret."""

    def __init__(self, secret: str) -> None:
        self._reset = URLSafeTimedSerializer(secret, salt="libervia.password-reset")
        self._verify = URLSafeTimedSerializer(secret, salt="libervia.verify-email")

    def reset_token(self, user_id: str, password_hash: str) -> str:
        return str(self._reset.dumps({"u": user_id, "p": _fingerprint(password_hash)}))

    def verify_token(self, user_id: str, email: str) -> str:
        return str(self._verify.dumps({"u": user_id, "e": email}))

    def read_reset(self, token: Any) -> dict[str, str]:
        return _read(self._reset, token, RESET_SECONDS, _("This reset link"))

    def read_verify(self, token: Any) -> dict[str, str]:
        return _read(self._verify, token, VERIFY_SECONDS, _("This confirmation link"))


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def _read(serializer: URLSafeTimedSerializer, token: Any, max_age: int, what: str) -> dict:
    if not isinstance(token, str) or not token or len(token) > 500:
        raise BadRequest(_("%(what)s is not valid.", what=what), code="bad_link")
    try:
        data = serializer.loads(token, max_age=max_age)
    except SignatureExpired:
        raise Gone(
            _("%(what)s has expired; ask for a new one.", what=what), code="link_expired"
        ) from None
    except BadSignature:
        raise BadRequest(_("%(what)s is not valid.", what=what), code="bad_link") from None
    if not isinstance(data, dict):
        raise BadRequest(_("%(what)s is not valid.", what=what), code="bad_link")
    return data


def ask_for_reset(db: Database, links: Links, email: Any, portal_url: str) -> bool:
    """Email a reset link when the address has an account; says whether one was enqueued (for
    the caller to wake the postman, never to tell the person)."""
    if not isinstance(email, str) or not EMAIL.fullmatch(email.strip()):
        raise BadRequest(_("Enter a valid email address."), code="bad_email")
    address = email.strip().lower()
    since = stamp(datetime.now(UTC) - timedelta(hours=1))
    with db.transaction() as tx:
        user = tx.one("SELECT id, password_hash, locale FROM users WHERE email=?", (address,))
        if user is None:
            return False
        recent = tx.one(
            "SELECT COUNT(*) AS n FROM outbox WHERE recipient=? AND kind='password_reset'"
            " AND created_at > ?",
            (address, since),
        )
        if recent and recent["n"] >= RESETS_PER_HOUR:
            return False
        token = links.reset_token(user["id"], user["password_hash"])
        letter = letters.password_reset(user["locale"], f"{portal_url}/reset?token={token}")
        mail.enqueue(tx, address, "password_reset", letter.subject, letter.body)
    return True


def reset_password(db: Database, links: Links, token: Any, password: Any) -> dict[str, Any]:
    """Set the new password, once per link; every session of the account ends."""
    claim = links.read_reset(token)
    used = Gone(_("This reset link was already used; ask for a new one."), code="link_used")
    with db.transaction() as tx:
        if tx.dialect == "postgres":
            tx.execute("SELECT id FROM users WHERE id=? FOR UPDATE", (claim.get("u"),))
        user = tx.one("SELECT id, email, password_hash FROM users WHERE id=?", (claim.get("u"),))
        if user is None or _fingerprint(user["password_hash"]) != claim.get("p"):
            raise used
        set_password(tx, user["id"], password)
        tx.execute(
            "UPDATE users SET email_verified_at=COALESCE(email_verified_at, ?) WHERE id=?",
            (stamp_now(), user["id"]),
        )
    ended = revoke_all(db, user["id"])
    return {"reset": True, "email": user["email"], "sessions_ended": ended}


def send_verification(db: Database, links: Links, user_id: str, portal_url: str) -> bool:
    """Email a confirmation link, unless the address is confirmed already."""
    with db.transaction() as tx:
        user = tx.one(
            "SELECT id, email, locale, email_verified_at FROM users WHERE id=?", (user_id,)
        )
        if user is None or user["email_verified_at"]:
            return False
        recent = tx.one(
            "SELECT COUNT(*) AS n FROM outbox WHERE recipient=? AND kind='verify_email'"
            " AND created_at > ?",
            (user["email"], stamp(datetime.now(UTC) - timedelta(hours=1))),
        )
        if recent and recent["n"] >= RESETS_PER_HOUR:  # the same bound as reset emails
            return False
        token = links.verify_token(user["id"], user["email"])
        letter = letters.verify_email(user["locale"], f"{portal_url}/verify?token={token}")
        mail.enqueue(tx, user["email"], "verify_email", letter.subject, letter.body)
    return True


def verify_email(db: Database, links: Links, token: Any) -> dict[str, Any]:
    """Confirm the address the link was sent to (a link to an address since changed fails)."""
    claim = links.read_verify(token)
    with db.transaction() as tx:
        user = tx.one(
            "SELECT id, email, email_verified_at FROM users WHERE id=?", (claim.get("u"),)
        )
        if user is None or user["email"] != claim.get("e"):
            raise BadRequest(_("This confirmation link is not valid."), code="bad_link")
        if user["email_verified_at"]:
            return {"verified": True, "already": True, "email": user["email"]}
        tx.execute("UPDATE users SET email_verified_at=? WHERE id=?", (stamp_now(), user["id"]))
    return {"verified": True, "already": False, "email": user["email"]}
