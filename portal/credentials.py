"""Each institution's engine credentials, encrypted at rest."""

from kernel.errors import Conflict
from kernel.times import stamp_now
from portal.db import Tx
from portal.secret_box import SecretBox

KINDS = ("admin_key", "owner", "executive_admin", "organizational_agent")


def _context(institution_id: str, kind: str) -> str:
    return f"{institution_id}/{kind}"


def store(
    tx: Tx, box: SecretBox, institution_id: str, kind: str, secret: str, actor_id: str | None = None
) -> None:
    nonce, sealed = box.seal(secret, _context(institution_id, kind))
    tx.execute(
        "INSERT INTO engine_credentials (institution_id, kind, actor_id, nonce, ciphertext,"
        " created_at) VALUES (?,?,?,?,?,?)",
        (institution_id, kind, actor_id, nonce, sealed, stamp_now()),
    )


def load(tx: Tx, box: SecretBox, institution_id: str, kind: str) -> str:
    row = tx.one(
        "SELECT nonce, ciphertext FROM engine_credentials WHERE institution_id=? AND kind=?",
        (institution_id, kind),
    )
    if row is None:
        raise Conflict(f"no {kind} credential yet; finish onboarding", code="not_onboarded")
    return box.open(row["nonce"], row["ciphertext"], _context(institution_id, kind))


def stored_kinds(tx: Tx, institution_id: str) -> set[str]:
    rows = tx.all("SELECT kind FROM engine_credentials WHERE institution_id=?", (institution_id,))
    return {row["kind"] for row in rows}


def replace(tx: Tx, box: SecretBox, institution_id: str, kind: str, secret: str) -> None:
    """A re-issued secret in place of the stored one (same kind, same actor)."""
    nonce, sealed = box.seal(secret, _context(institution_id, kind))
    tx.execute(
        "UPDATE engine_credentials SET nonce=?, ciphertext=?, created_at=?"
        " WHERE institution_id=? AND kind=?",
        (nonce, sealed, stamp_now(), institution_id, kind),
    )


def actor_of(tx: Tx, institution_id: str, kind: str) -> str:
    row = tx.one(
        "SELECT actor_id FROM engine_credentials WHERE institution_id=? AND kind=?",
        (institution_id, kind),
    )
    if row is None or row["actor_id"] is None:
        raise Conflict(f"no {kind} actor yet; finish onboarding", code="not_onboarded")
    return str(row["actor_id"])
