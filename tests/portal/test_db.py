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
