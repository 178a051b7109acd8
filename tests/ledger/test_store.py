import sqlite3

import pytest

from ledger import store
from tests.ledger.conftest import LedgerFile


def test_events_chain_and_verify(ledger):
    first = ledger.append("proposal.submitted", "actor_1", {"action": "list_files"})
    second = ledger.append("proposal.allowed", "engine", {"rule": "x"}, case_id=first.case_id)
    assert (first.seq, second.seq) == (1, 2)
    assert second.prev_hash == first.hash
    result = store.verify(ledger.conn)
    assert result.ok and result.events == 2 and result.head_hash == second.hash


def test_append_belongs_inside_a_write_transaction(ledger):
    with pytest.raises(RuntimeError, match="write transaction"):
        store.append(ledger.conn, "inst_a", [("x", "a", {}, None)])


def test_a_rolled_back_transaction_leaves_no_event(ledger):
    ledger.append("kept", "a", {})
    ledger.conn.execute("BEGIN IMMEDIATE")
    store.append(ledger.conn, "inst_a", [("lost", "a", {}, None)])
    ledger.conn.execute("ROLLBACK")
    assert [e.type for e in store.events(ledger.conn)] == ["kept"]
    assert ledger.append("next", "a", {}).seq == 2


def test_append_only_triggers_refuse_update_and_delete(ledger):
    ledger.append("x", "a", {})
    conn = sqlite3.connect(ledger.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET actor='evil'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events")
    conn.close()


def _tamper(path, sql):
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("sql", "bad_seq"),
    [
        ("UPDATE events SET payload='{\"n\":99}' WHERE seq=3", 3),
        ("UPDATE events SET actor='mallory' WHERE seq=5", 5),
        ("UPDATE events SET ts='2000-01-01T00:00:00Z' WHERE seq=1", 1),
        ("DELETE FROM events WHERE seq=4", 4),
        (
            "UPDATE events SET hash=(CASE WHEN hash LIKE '00%' THEN '11' ELSE '00' END)"
            " || substr(hash, 3) WHERE seq=2",
            2,
        ),
        ("UPDATE events SET institution_id='inst_b' WHERE seq=6", 6),
        ("UPDATE events SET case_id=7 WHERE seq=3", 3),
        ("UPDATE events SET payload=X'7b7d' WHERE seq=2", 2),
    ],
)
def test_tampering_names_first_bad_seq(tmp_path, sql, bad_seq):
    ledger = LedgerFile(tmp_path / "ledger.db")
    for n in range(6):
        ledger.append("step", "a", {"n": n})
    ledger.close()
    _tamper(tmp_path / "ledger.db", sql)
    reopened = LedgerFile(tmp_path / "ledger.db")
    result = store.verify(reopened.conn)
    reopened.close()
    assert not result.ok
    assert result.first_bad_seq == bad_seq


def test_filters(ledger):
    ledger.append("proposal.denied", "a", {})
    ledger.append("approval.granted", "b", {})
    ledger.append("job.result", "c", {})
    assert [e.type for e in store.events(ledger.conn, type_prefixes=["approval."])] == [
        "approval.granted"
    ]
    assert [e.seq for e in store.events(ledger.conn, descending=True, limit=2)] == [3, 2]
    assert store.events(ledger.conn, since="2999-01-01") == []


def test_checkpoints_sign_the_tree_and_the_head_once_per_size(ledger, tmp_path):
    from ledger import checkpoint
    from ledger.signing import load_or_create_key, public_key_b64

    key = load_or_create_key(tmp_path / "key.pem")
    ledger.append("x", "a", {})
    ledger.conn.execute("BEGIN IMMEDIATE")
    first = store.sign_head(ledger.conn, "inst_a", key, public_key_b64(key))
    again = store.sign_head(ledger.conn, "inst_a", key, public_key_b64(key))
    ledger.conn.execute("COMMIT")
    assert again == first and store.checkpoints(ledger.conn) == [first]
    assert store.checkpoints(ledger.conn, upto=0) == []
    stated = checkpoint.verify(key.public_key(), first["note"], first["signature"])
    assert stated.size == 1 and stated.root == store.root_at(ledger.conn, 1)
    assert stated.head == store.head(ledger.conn)[1]
