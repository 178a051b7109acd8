import pytest

from portal.migrations import MIGRATIONS, migrate
from tests.support.databases import accounts_database


@pytest.fixture(params=["postgres", "sqlite"])
def db(request, tmp_path):
    with accounts_database(request.param, tmp_path) as database:
        yield database


def test_migrations_apply_once_in_order(db):
    assert migrate(db) == [version for version, _, _ in MIGRATIONS]
    assert migrate(db) == []
    with db.transaction() as tx:
        assert tx.one("SELECT name FROM plans WHERE code=?", ("free",))["name"] == "Free"


def test_transaction_rolls_back_on_error(db):
    migrate(db)
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.execute(
            "INSERT INTO plans (code, name, max_institutions) VALUES (?,?,?)", ("pro", "Pro", 5)
        )
        raise RuntimeError("boom")
    with db.transaction() as tx:
        assert tx.one("SELECT code FROM plans WHERE code=?", ("pro",)) is None


def test_people_migration_keeps_an_existing_owner_and_their_engine_actor(db):
    """Version 6 on an accounts store of version 5 with an onboarded owner: the membership
    learns the owner's engine actor, and nobody's account or credential changes."""
    assert migrate(db, upto=5) == [1, 2, 3, 4, 5]
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES (?,?,?,?)",
            ("usr_1", "ana@example.org", "hash", "2026-01-01T00:00:00Z"),
        )
        tx.execute(
            "INSERT INTO institutions (id, name, onboarding_state, created_at) VALUES (?,?,?,?)",
            ("ins_1", "Ana", "active", "2026-01-01T00:00:00Z"),
        )
        tx.execute(
            "INSERT INTO memberships (user_id, institution_id, role, created_at) VALUES (?,?,?,?)",
            ("usr_1", "ins_1", "owner", "2026-01-01T00:00:00Z"),
        )
        for kind, actor in (("owner", "act_owner"), ("organizational_agent", "act_agent")):
            tx.execute(
                "INSERT INTO engine_credentials (institution_id, kind, actor_id, nonce,"
                " ciphertext, created_at) VALUES (?,?,?,?,?,?)",
                ("ins_1", kind, actor, "n", "c", "2026-01-01T00:00:00Z"),
            )
    assert migrate(db) == [version for version, _, _ in MIGRATIONS if version > 5]
    with db.transaction() as tx:
        member = tx.one("SELECT role, actor_id FROM memberships WHERE user_id=?", ("usr_1",))
        user = tx.one("SELECT email, email_verified_at FROM users WHERE id=?", ("usr_1",))
    assert member == {"role": "owner", "actor_id": "act_owner"}
    assert user == {"email": "ana@example.org", "email_verified_at": None}
