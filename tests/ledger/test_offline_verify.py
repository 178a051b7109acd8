import io
import json
import sqlite3

import pytest

from functions.cli import main
from ledger import store
from ledger.export import write_csv, write_jsonl, write_sqlite
from ledger.signing import load_or_create_key, public_key_b64
from tests.ledger.conftest import LedgerFile


@pytest.fixture
def signed(tmp_path):
    key = load_or_create_key(tmp_path / "engine.pem")
    ledger = LedgerFile(tmp_path / "ledger.db")
    for n in range(5):
        ledger.append("step", "actor", {"n": n, "texto": "ação"})
    ledger.conn.execute("BEGIN IMMEDIATE")
    checkpoint = store.sign_head(ledger.conn, "inst_a", key, public_key_b64(key))
    ledger.conn.execute("COMMIT")
    yield ledger, checkpoint, public_key_b64(key), tmp_path
    ledger.close()


def jsonl(ledger, checkpoint):
    out = io.StringIO()
    write_jsonl(out, ledger.conn, "inst_a", checkpoint)
    return out.getvalue()


def test_jsonl_export_verifies_offline(signed, capsys):
    ledger, checkpoint, public_key, tmp_path = signed
    path = tmp_path / "export.jsonl"
    path.write_text(jsonl(ledger, checkpoint))
    assert main(["ledger", "verify", str(path), "--public-key", public_key]) == 0
    assert "OK: 5 events" in capsys.readouterr().out


def test_sqlite_export_verifies_offline_with_key_file(signed):
    ledger, checkpoint, public_key, tmp_path = signed
    path = tmp_path / "export.db"
    write_sqlite(path, ledger.conn, checkpoint)
    key_file = tmp_path / "engine.pub"
    key_file.write_text(public_key)
    assert main(["ledger", "verify", str(path), "--public-key", str(key_file)]) == 0


def test_exports_hold_exactly_what_the_checkpoint_covers(signed, capsys):
    """Events appended after the checkpoint stay out of every export of it."""
    ledger, checkpoint, public_key, tmp_path = signed
    ledger.append("late", "actor", {})
    path = tmp_path / "export.db"
    write_sqlite(path, ledger.conn, checkpoint)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT max(seq) FROM events").fetchone() == (5,)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "actors" not in tables and "meta" not in tables
    assert main(["ledger", "verify", str(path), "--public-key", public_key]) == 0
    assert '"seq":6' not in jsonl(ledger, checkpoint)
    out = io.StringIO()
    write_csv(out, ledger.conn, checkpoint)
    assert len(out.getvalue().strip().splitlines()) == 6


def test_edited_export_fails_naming_seq(signed, capsys):
    ledger, checkpoint, public_key, tmp_path = signed
    lines = jsonl(ledger, checkpoint).splitlines()
    record = json.loads(lines[3])
    record["payload"]["n"] = 42
    lines[3] = json.dumps(record)
    path = tmp_path / "edited.jsonl"
    path.write_text("\n".join(lines))
    assert main(["ledger", "verify", str(path), "--public-key", public_key]) == 1
    assert "seq 3" in capsys.readouterr().err


def test_wrong_public_key_fails(signed, capsys):
    ledger, checkpoint, _, tmp_path = signed
    other = public_key_b64(load_or_create_key(tmp_path / "other.pem"))
    path = tmp_path / "export.jsonl"
    path.write_text(jsonl(ledger, checkpoint))
    assert main(["ledger", "verify", str(path), "--public-key", other]) == 1
    assert "signature" in capsys.readouterr().err


def test_events_after_checkpoint_are_not_trusted(signed, capsys):
    ledger, checkpoint, public_key, tmp_path = signed
    ledger.append("late", "actor", {})
    path = tmp_path / "copy.db"
    source = sqlite3.connect(ledger.path)
    target = sqlite3.connect(path)
    source.backup(target)
    target.close()
    source.close()
    assert main(["ledger", "verify", str(path), "--public-key", public_key]) == 1
    assert "not covered" in capsys.readouterr().err


def test_missing_file_and_bad_key_are_clear_errors(tmp_path, capsys):
    assert main(["ledger", "verify", str(tmp_path / "nope"), "--public-key", "AAAA"]) == 1
    assert "no such file" in capsys.readouterr().err


def test_a_ledger_shorter_than_its_checkpoint_is_refused(signed, capsys):
    ledger, checkpoint, public_key, tmp_path = signed
    lines = jsonl(ledger, checkpoint).splitlines()
    del lines[-2]  # the last event goes; its checkpoint stays
    path = tmp_path / "short.jsonl"
    path.write_text("\n".join(lines))
    assert main(["ledger", "verify", str(path), "--public-key", public_key]) == 1
    assert "shorter than its checkpoint at size 5" in capsys.readouterr().err


def test_a_rechained_ledger_disagrees_with_its_checkpoint(signed, capsys):
    """Rewrite an event and recompute every hash after it: the chain holds, the checkpoint
    (signed before) does not."""
    from ledger.canonical import chain_hash
    from ledger.event import Event

    ledger, checkpoint, public_key, tmp_path = signed
    lines = jsonl(ledger, checkpoint).splitlines()
    records = [json.loads(line) for line in lines[1:-1]]
    records[1]["payload"]["n"] = 99
    prev = records[0]["hash"]
    for record in records[1:]:
        body = Event.from_dict(record).canonical_bytes()
        record["prev_hash"], record["hash"] = prev, chain_hash(prev, body)
        prev = record["hash"]
    path = tmp_path / "rechained.jsonl"
    path.write_text("\n".join([lines[0], *map(json.dumps, records), lines[-1]]))
    assert main(["ledger", "verify", str(path), "--public-key", public_key]) == 1
    assert "checkpoint at size 5 does not match the chain at seq 5" in capsys.readouterr().err
