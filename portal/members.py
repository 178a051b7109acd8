"""More than one person per institution: the owner invites people by an emailed link, with a
role; each person who accepts gets an engine actor of their own (so the ledger names who asked
and who approved); removing a member revokes that actor and ends their sessions.

One institution per person for now: a person who already belongs to one cannot accept another.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kernel.errors import BadRequest, Conflict, Forbidden, Gone, NotFound, Refused, TooMany
from kernel.ids import new_id
from kernel.times import stamp, stamp_now
from portal import credentials, letters, mail
from portal.accounts import create_user, institution_of, normalize_email
from portal.db import Database, Tx
from portal.engine_client import EngineClient
from portal.i18n import N_, _
from portal.onboarding import lock_institution
from portal.secret_box import SecretBox
from portal.sessions import revoke_all

INVITABLE = ("executive_admin", "auditor")
LIFETIME = timedelta(days=7)
MAX_PENDING = 50
INVITES_PER_HOUR = 20  # emails one owner can have sent, so the form relays no spam


def member_kind(user_id: str) -> str:
    """The engine credential of one member (the owner's is `owner`)."""
    return f"member:{user_id}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Invitation:
    id: str
    institution_id: str
    institution_name: str
    email: str
    role: str
    invited_by: str
    expires_at: str
    state: str  # pending | accepted | expired | withdrawn


def owned(db: Database, user_id: str) -> dict[str, Any]:
    """The signed-in person's onboarded institution, which they must own."""
    institution = institution_of(db, user_id)
    if institution is None or institution["onboarding_state"] != "active":
        raise Conflict(_("Finish onboarding first."), code="not_onboarded")
    if institution["membership_role"] != "owner":
        raise Forbidden(_("Only the owner can do this."), code="owner_only")
    return institution


def invite(db: Database, owner_id: str, email: Any, role: Any, portal_url: str) -> dict[str, Any]:
    """A single-use link, valid for 7 days, emailed to `email`. Inviting the same address again
    withdraws the earlier link (the newest email is the one that works)."""
    institution = owned(db, owner_id)
    if role not in INVITABLE:
        raise BadRequest(_("Choose a role: assistant or auditor."), code="bad_role")
    address = normalize_email(email)
    token = secrets.token_urlsafe(32)
    moment = datetime.now(UTC)
    invitation_id = new_id("inv")
    with db.transaction() as tx:
        lock_institution(db, tx, institution["id"])
        if tx.one(
            "SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id"
            " WHERE u.email=? AND m.institution_id=?",
            (address, institution["id"]),
        ):
            raise Conflict(
                _("%(email)s is already a member.", email=address), code="already_member"
            )
        pending = tx.one(
            "SELECT COUNT(*) AS n FROM invitations WHERE institution_id=? AND accepted_at IS NULL"
            " AND withdrawn_at IS NULL AND expires_at > ?",
            (institution["id"], stamp(moment)),
        )
        sent = tx.one(
            "SELECT COUNT(*) AS n FROM invitations WHERE invited_by=? AND created_at > ?",
            (owner_id, stamp(moment - timedelta(hours=1))),
        )
        if sent and sent["n"] >= INVITES_PER_HOUR:
            raise TooMany(
                _("At most %(num)s invitations an hour; try again later.", num=INVITES_PER_HOUR),
                code="too_many_invitations",
            )
        if pending and pending["n"] >= MAX_PENDING:
            raise Conflict(
                _("At most %(num)s invitations can wait at once.", num=MAX_PENDING),
                code="too_many_invitations",
            )
        tx.execute(
            "UPDATE invitations SET withdrawn_at=? WHERE institution_id=? AND email=?"
            " AND accepted_at IS NULL AND withdrawn_at IS NULL",
            (stamp_now(), institution["id"], address),
        )
        tx.execute(
            "INSERT INTO invitations (id, token_hash, institution_id, email, role, invited_by,"
            " created_at, expires_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                invitation_id,
                _digest(token),
                institution["id"],
                address,
                role,
                owner_id,
                stamp_now(),
                stamp(moment + LIFETIME),
            ),
        )
        inviter = tx.one("SELECT email FROM users WHERE id=?", (owner_id,))
        known = tx.one("SELECT locale FROM users WHERE email=?", (address,))
        letter = letters.invitation(
            known["locale"] if known else None,
            inviter["email"] if inviter else "",
            institution["name"],
            role,
            f"{portal_url.rstrip('/')}/invite?token={token}",
        )
        mail.enqueue(tx, address, "invitation", letter.subject, letter.body)
    return {
        "id": invitation_id,
        "email": address,
        "role": role,
        "expires_at": stamp(moment + LIFETIME),
    }


def _state(row: dict[str, Any]) -> str:
    if row["accepted_at"]:
        return "accepted"
    if row["withdrawn_at"]:
        return "withdrawn"
    if row["expires_at"] <= stamp(datetime.now(UTC)):
        return "expired"
    return "pending"


def _invitation(tx: Tx, token: Any, lock: bool = False) -> dict[str, Any]:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFound(_("This invitation link is not valid."), code="invitation_not_found")
    row = tx.one(
        "SELECT v.*, i.name AS institution_name, i.engine_institution_id, u.email AS inviter"
        " FROM invitations v JOIN institutions i ON i.id = v.institution_id"
        " JOIN users u ON u.id = v.invited_by WHERE v.token_hash=?"
        + (" FOR UPDATE OF v" if lock and tx.dialect == "postgres" else ""),
        (_digest(token),),
    )
    if row is None:
        raise NotFound(_("This invitation link is not valid."), code="invitation_not_found")
    return row


def look_up(db: Database, token: Any) -> Invitation:
    """What an invitation link offers, for the page that accepts it."""
    with db.transaction() as tx:
        row = _invitation(tx, token)
    return Invitation(
        row["id"],
        row["institution_id"],
        row["institution_name"],
        row["email"],
        row["role"],
        row["inviter"],
        row["expires_at"],
        _state(row),
    )


_REFUSED = {
    "accepted": ("invitation_used", N_("This invitation was already accepted.")),
    "expired": ("invitation_expired", N_("This invitation has expired; ask for a new one.")),
    "withdrawn": ("invitation_withdrawn", N_("This invitation was withdrawn or replaced.")),
}


def accept(
    db: Database,
    box: SecretBox,
    engine: EngineClient,
    token: Any,
    signed_in: str | None,
    password: Any,
) -> dict[str, Any]:
    """Join the institution: as the signed-in person the invitation names, or as a new account
    with `password` (the link came to that address, so it is verified). Returns the user."""
    with db.transaction() as tx:
        row = _invitation(tx, token, lock=True)
        lock_institution(db, tx, row["institution_id"])
        if _state(row) != "pending":
            code, message = _REFUSED[_state(row)]
            raise Gone(_(message), code=code)
        user = tx.one(
            "SELECT id, email, created_at FROM users WHERE email=?"
            + (" FOR UPDATE" if tx.dialect == "postgres" else ""),
            (row["email"],),
        )
        if user is not None and user["id"] != signed_in:
            raise Conflict(
                _(
                    "An account for %(email)s exists: sign in with it, then open the link again.",
                    email=row["email"],
                ),
                code="sign_in_first",
            )
        if user is not None and tx.one(
            "SELECT institution_id FROM memberships WHERE user_id=?", (user["id"],)
        ):
            raise Conflict(
                _("This account already belongs to an institution."), code="already_member"
            )
        if user is None:
            user = create_user(tx, row["email"], password, verified=True)
        admin_key = credentials.load(tx, box, row["institution_id"], "admin_key")
        actor = engine.create_actor(
            row["engine_institution_id"], admin_key, row["email"], row["role"]
        )
        tx.execute(
            "INSERT INTO memberships (user_id, institution_id, role, created_at, actor_id)"
            " VALUES (?,?,?,?,?)",
            (user["id"], row["institution_id"], row["role"], stamp_now(), actor["actor_id"]),
        )
        credentials.store(
            tx,
            box,
            row["institution_id"],
            member_kind(user["id"]),
            actor["token"],
            actor["actor_id"],
        )
        tx.execute(
            "UPDATE invitations SET accepted_at=?, accepted_by=? WHERE id=?",
            (stamp_now(), user["id"], row["id"]),
        )
    return dict(user)


def withdraw(db: Database, owner_id: str, invitation_id: str) -> None:
    institution = owned(db, owner_id)
    with db.transaction() as tx:
        changed = tx.execute(
            "UPDATE invitations SET withdrawn_at=? WHERE id=? AND institution_id=?"
            " AND accepted_at IS NULL AND withdrawn_at IS NULL",
            (stamp_now(), invitation_id, institution["id"]),
        )
    if not changed:
        raise NotFound(_("There is no such waiting invitation."), code="invitation_not_found")


def remove(
    db: Database, box: SecretBox, engine: EngineClient, owner_id: str, member_id: Any
) -> dict[str, Any]:
    """The member's engine actor is revoked (their token gets 401 from then on, the ledger
    records it), their membership and credential are deleted and their sessions end."""
    institution = owned(db, owner_id)
    iid = institution["id"]
    with db.transaction() as tx:
        lock_institution(db, tx, iid)
        member = tx.one(
            "SELECT m.user_id, m.role, m.actor_id, u.email FROM memberships m"
            " JOIN users u ON u.id = m.user_id WHERE m.institution_id=? AND m.user_id=?",
            (iid, member_id if isinstance(member_id, str) else ""),
        )
        if member is None or member["role"] == "owner":
            raise NotFound(_("There is no such member."), code="member_not_found")
        admin_key = credentials.load(tx, box, iid, "admin_key")
        try:
            engine.post(
                institution["engine_institution_id"],
                f"/actors/{member['actor_id']}/revoke",
                admin_key,
                {"reason": "removed by the owner"},
            )
        except Refused as exc:
            if exc.code != "actor_revoked":  # revoked before, and the removal did not commit
                raise
        tx.execute(
            "DELETE FROM engine_credentials WHERE institution_id=? AND kind=?",
            (iid, member_kind(member["user_id"])),
        )
        tx.execute(
            "DELETE FROM memberships WHERE institution_id=? AND user_id=?", (iid, member["user_id"])
        )
    revoke_all(db, member["user_id"])
    return {"removed": member["user_id"], "email": member["email"]}


def roster(db: Database, user_id: str) -> dict[str, Any]:
    """Who belongs to the signed-in person's institution, and (for its owner) who is invited."""
    institution = institution_of(db, user_id)
    if institution is None or institution["onboarding_state"] != "active":
        raise Conflict(_("Finish onboarding first."), code="not_onboarded")
    with db.transaction() as tx:
        people = tx.all(
            "SELECT u.id AS user_id, u.email, m.role, m.created_at AS joined_at, m.actor_id"
            " FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.institution_id=?"
            " ORDER BY m.created_at",
            (institution["id"],),
        )
        invited = tx.all(
            "SELECT id, email, role, created_at, expires_at, accepted_at, withdrawn_at"
            " FROM invitations WHERE institution_id=? AND accepted_at IS NULL"
            " AND withdrawn_at IS NULL ORDER BY created_at DESC",
            (institution["id"],),
        )
    is_owner = institution["membership_role"] == "owner"
    return {
        "you": user_id,
        "your_role": institution["membership_role"],
        "members": people,
        "invitations": [
            {k: v for k, v in row.items() if k not in ("accepted_at", "withdrawn_at")}
            | {"state": _state(row)}
            for row in invited
        ]
        if is_owner
        else [],
    }


def names(db: Database, institution_id: str) -> dict[str, str]:
    """Each member's email by their engine actor id (the timeline names people by them)."""
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT m.actor_id, u.email FROM memberships m JOIN users u ON u.id = m.user_id"
            " WHERE m.institution_id=? AND m.actor_id IS NOT NULL",
            (institution_id,),
        )
    return {row["actor_id"]: row["email"] for row in rows}
