"""Server-side sessions on both stores: ended, ended everywhere, expired."""

from datetime import timedelta

import pytest

from portal.accounts import sign_up
from portal.migrations import migrate
from portal.sessions import open_session, revoke, revoke_all, user_of
from tests.support.databases import accounts_database


@pytest.fixture(params=["postgres", "sqlite"])
def db(request, tmp_path):
    with accounts_database(request.param, tmp_path) as database:
        migrate(database)
        yield database


def test_a_session_lives_until_it_is_ended(db):
    user = sign_up(db, "ana@example.org", "correct horse battery staple")
    first, second = open_session(db, user["id"]), open_session(db, user["id"])
    assert user_of(db, first) == user["id"] == user_of(db, second)
    revoke(db, first)
    assert user_of(db, first) is None and user_of(db, second) == user["id"]
    assert revoke_all(db, user["id"]) == 1
    assert user_of(db, second) is None
    assert user_of(db, "never-issued") is None


def test_an_expired_session_opens_nothing(db):
    user = sign_up(db, "bo@example.org", "correct horse battery staple")
    lapsed = open_session(db, user["id"], lifetime=timedelta(seconds=-1))
    assert user_of(db, lapsed) is None
    with db.transaction() as tx:
        stored = tx.one("SELECT id_hash FROM sessions")["id_hash"]
    assert lapsed not in stored  # only a digest is stored
