import json

import pytest

from functions.cli import main
from ledger.export import export_csv, export_jsonl, export_sqlite
from ledger.signing import checkpoint_message, load_or_create_key, public_key_b64, sign
from ledger.store import Ledger


@pytest.fixture
def signed(tmp_path):
    key = load_or_create_key(tmp_path / "engine.pem")
    ledger = Ledger(tmp_path / "ledger.db", "inst_a")
    for n in range(5):
        ledger.append("step", "actor", {"n": n, "texto": "ação"})
    seq, head = ledger.head()
    signature = sign(key, checkpoint_message("inst_a", seq, head))
    checkpoint = ledger.add_checkpoint(seq, head, signature, public_key_b64(key))
    return ledger, checkpoint, public_key_b64(key), tmp_path


def test_jsonl_export_verifies_offline(signed, capsys):
    ledger, checkpoint, public_key, tmp_path = signed
    path = tmp_path / "export.jsonl"
    path.write_text("".join(export_jsonl(ledger, checkpoint)))
    assert main(["ledger", "verify", str(path), "--public-key", public_key]) == 0
    assert "OK: 5 events" in capsys.readouterr().out


def test_sqlite_export_verifies_offline_with_key_file(signed):
    ledger, _, public_key, tmp_path = signed
    path = tmp_path / "export.db"
    path.write_bytes(export_sqlite(ledger))
    key_file = tmp_path / "engine.pub"
    key_file.write_text(public_key)
    assert main(["ledger", "verify", str(path), "--public-key", str(key_file)]) == 0


def test_edited_export_fails_naming_seq(signed, capsys):
    ledger, checkpoint, public_key, tmp_path = signed
    lines = "".join(export_jsonl(ledger, checkpoint)).splitlines()
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
    path.write_text("".join(export_jsonl(ledger, checkpoint)))
    assert main(["ledger", "verify", str(path), "--public-key", other]) == 1
    assert "signature" in capsys.readouterr().err


def test_events_after_checkpoint_are_not_trusted(signed, capsys):
    ledger, _, public_key, tmp_path = signed
    ledger.append("late", "actor", {})
    path = tmp_path / "export.db"
    path.write_bytes(export_sqlite(ledger))
    assert main(["ledger", "verify", str(path), "--public-key", public_key]) == 1
    assert "not covered" in capsys.readouterr().err


def test_missing_file_and_bad_key_are_clear_errors(tmp_path, capsys):
    assert main(["ledger", "verify", str(tmp_path / "nope"), "--public-key", "AAAA"]) == 1
    assert "no such file" in capsys.readouterr().err


def test_csv_export_has_every_event(signed):
    ledger, checkpoint, _, _ = signed
    text = "".join(export_csv(ledger, checkpoint))
    assert text.splitlines()[0].startswith("seq,ts,institution_id")
    assert len(text.strip().splitlines()) == 6
