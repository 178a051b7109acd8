"""Verification split over processes gives exactly the answer of one walk."""

import os
import shutil
import sqlite3

import pytest

from ledger import verify as verify_module
from ledger.store import verify
from ledger.verify import verify_rows
from tests.ledger.conftest import LedgerFile

EVENTS = 100
TAMPERING = {
    "payload": "UPDATE events SET payload='{\"n\":-1}' WHERE seq={seq}",
    "prev_hash": "UPDATE events SET prev_hash=substr(hash, 1, 64) WHERE seq={seq}",
    "hash": "UPDATE events SET hash=(CASE WHEN hash LIKE '00%' THEN '11' ELSE '00' END)"
    " || substr(hash, 3) WHERE seq={seq}",
    "deleted": "DELETE FROM events WHERE seq={seq}",
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    path = tmp_path_factory.mktemp("verify") / "ledger.db"
    ledger = LedgerFile(path)
    ledger.append_many([("step", "actor", {"n": n}, None) for n in range(EVENTS)])
    ledger.close()
    return path


def boundaries() -> list[int]:
    workers = os.cpu_count() or 1
    step = -(-EVENTS // workers)
    starts = list(range(1, EVENTS + 1, step))[1:]
    return sorted({s + d for s in starts for d in (-1, 0, 1)} | {1, 2, EVENTS - 1, EVENTS})


def one_walk(conn):
    return verify_rows(conn.execute("SELECT * FROM events ORDER BY seq"))


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_split_verification_names_the_same_first_bad_seq(pristine, tmp_path, monkeypatch, kind):
    monkeypatch.setattr(verify_module, "PARALLEL_FROM", 10)
    for seq in boundaries():
        path = tmp_path / f"{kind}-{seq}.db"
        shutil.copy(pristine, path)
        conn = sqlite3.connect(path)
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute("DROP TRIGGER events_no_delete")
        conn.execute(TAMPERING[kind].replace("{seq}", str(seq)))
        conn.commit()
        split, walked = verify(conn, path), one_walk(conn)
        conn.close()
        assert split == walked, (kind, seq)
        if kind == "deleted" and seq == EVENTS:
            continue  # a shorter chain is still a chain: only a signed checkpoint tells
        assert not split.ok and split.first_bad_seq == seq, (kind, seq, split)


def test_an_intact_ledger_verifies_split_or_not(pristine, monkeypatch):
    conn = sqlite3.connect(pristine)
    whole = verify(conn, pristine)
    monkeypatch.setattr(verify_module, "PARALLEL_FROM", 10)
    split = verify(conn, pristine)
    conn.close()
    assert whole.ok and whole == split and split.events == EVENTS
