"""Users, institutions, memberships and plans in the accounts store."""

import re
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kernel.errors import BadRequest, Conflict, Unauthorized
from kernel.ids import new_id
from kernel.times import stamp_now
from portal import i18n
from portal.db import Database, Tx

# No characters a mail header reads as a list, a name or a comment (one address, one
# recipient), and no control characters (a NUL is refused by PostgreSQL, the others by mail).
_ATOM = r"[^@\s,;:<>()\[\]\\\"\x00-\x1f\x7f]"
EMAIL = re.compile(rf"^{_ATOM}{{1,64}}@{_ATOM}+\.{_ATOM}{{2,}}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
_hasher = PasswordHasher()  # argon2id
# Verified when the email is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def normalize_email(email: Any) -> str:
    if not isinstance(email, str) or not EMAIL.fullmatch(email.strip()):
        raise BadRequest("enter a valid email address", code="bad_email")
    return email.strip().lower()


def check_password(password: Any) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise BadRequest(
            f"the password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters", code="bad_password"
        )
    return password


def sign_up(db: Database, email: Any, password: Any) -> dict[str, Any]:
    address, secret = normalize_email(email), check_password(password)
    with db.transaction() as tx:
        return create_user(tx, address, secret)


def create_user(tx: Tx, email: str, password: Any, verified: bool = False) -> dict[str, Any]:
    """A new account, in the language it was opened in; `verified` when the address is known
    to be theirs (an emailed link)."""
    address, secret = normalize_email(email), check_password(password)
    if tx.one("SELECT id FROM users WHERE email=?", (address,)):
        raise Conflict("an account with this email already exists", code="email_taken")
    user = {"id": new_id("usr"), "email": address, "created_at": stamp_now()}
    tx.execute(
        "INSERT INTO users (id, email, password_hash, created_at, email_verified_at, locale)"
        " VALUES (?,?,?,?,?,?)",
        (
            user["id"],
            address,
            _hasher.hash(secret),
            user["created_at"],
            stamp_now() if verified else None,
            i18n.current(),
        ),
    )
    return user


def set_password(tx: Tx, user_id: str, password: Any) -> None:
    tx.execute(
        "UPDATE users SET password_hash=? WHERE id=?",
        (_hasher.hash(check_password(password)), user_id),
    )


def authenticate(db: Database, email: Any, password: Any) -> dict[str, Any]:
    wrong = Unauthorized("wrong email or password", code="bad_credentials")
    if not isinstance(email, str) or not isinstance(password, str):
        raise wrong
    row = None
    if EMAIL.fullmatch(email.strip()):  # no other could have signed up (a NUL, say)
        with db.transaction() as tx:
            row = tx.one(
                "SELECT id, email, password_hash, created_at FROM users WHERE email=?",
                (email.strip().lower(),),
            )
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise wrong from None
    if row is None:
        raise wrong
    return {"id": row["id"], "email": row["email"], "created_at": row["created_at"]}


def get_user(db: Database, user_id: str) -> dict[str, Any] | None:
    with db.transaction() as tx:
        return tx.one(
            "SELECT id, email, created_at, email_verified_at FROM users WHERE id=?", (user_id,)
        )


def institution_of(db: Database, user_id: str) -> dict[str, Any] | None:
    with db.transaction() as tx:
        return tx.one(
            "SELECT i.*, m.role AS membership_role, s.plan_code FROM institutions i"
            " JOIN memberships m ON m.institution_id = i.id"
            " LEFT JOIN subscriptions s ON s.institution_id = i.id"
            " WHERE m.user_id=? ORDER BY i.created_at LIMIT 1",
            (user_id,),
        )


def ensure_institution(db: Database, user_id: str, name: str) -> dict[str, Any]:
    """The user's institution on the free plan, created once even under concurrent calls."""
    with db.transaction() as tx:
        if db.dialect == "postgres":
            tx.execute("SELECT id FROM users WHERE id=? FOR UPDATE", (user_id,))
        if not tx.one("SELECT institution_id FROM memberships WHERE user_id=?", (user_id,)):
            institution_id = new_id("ins")
            tx.execute(
                "INSERT INTO institutions (id, name, onboarding_state, created_at)"
                " VALUES (?,?,?,?)",
                (institution_id, name, "created", stamp_now()),
            )
            tx.execute(
                "INSERT INTO memberships (user_id, institution_id, role, created_at)"
                " VALUES (?,?,?,?)",
                (user_id, institution_id, "owner", stamp_now()),
            )
            tx.execute(
                "INSERT INTO subscriptions (institution_id, plan_code, started_at) VALUES (?,?,?)",
                (institution_id, "free", stamp_now()),
            )
    institution = institution_of(db, user_id)
    assert institution is not None  # created above, or there already
    return institution


def set_locale(db: Database, user_id: str, locale: str) -> None:
    with db.transaction() as tx:
        tx.execute("UPDATE users SET locale=? WHERE id=?", (locale, user_id))


def locale_of(db: Database, user_id: str) -> str | None:
    with db.transaction() as tx:
        row = tx.one("SELECT locale FROM users WHERE id=?", (user_id,))
    return row["locale"] if row else None
