"""Checkpoints, proofs and verification against what was signed, on a real engine."""

import base64
import json

import httpx

from harness.engine_api import SEEN, auth
from ledger import merkle
from ledger.checkpoint import parse
from tests.support import tamper
from tests.support.cli import libervia, verify_offline


def flow(inst, n=6):
    for k in range(n):
        pending = inst.propose("agent", "delete", {"path": f"f{k}.txt", "sha256": SEEN})
        inst.post(
            f"/proposals/{pending['proposal_id']}/approve", "owner", {"digest": pending["digest"]}
        )


def file_of(engine_data_dir, inst):
    return engine_data_dir / "institutions" / inst.institution_id / "institution.db"


def test_an_event_proof_checks_offline_and_a_changed_one_does_not(inst, tmp_path):
    flow(inst)
    events = inst.get("/ledger/events", "owner", type="approval.granted").json()["events"]
    seq = events[0]["seq"]
    response = inst.get("/ledger/proofs/event", "owner", seq=seq)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    proof = response.json()
    assert proof["event"]["type"] == "approval.granted"
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    public_key = httpx.get(f"{inst.base}/v1/public-key").json()["public_key"]
    checked = libervia("ledger", "verify-proof", str(path), "--public-key", public_key)
    assert checked.returncode == 0, checked.stderr
    assert f"OK: event {seq} (approval.granted)" in checked.stdout

    proof["event"]["payload"]["reason"] = "approved by someone else"
    path.write_text(json.dumps(proof))
    refused = libervia("ledger", "verify-proof", str(path), "--public-key", public_key)
    assert refused.returncode == 1 and "does not give its hash" in refused.stderr
    assert inst.get("/ledger/proofs/event", "agent", seq=seq).status_code == 403
    assert inst.get("/ledger/proofs/event", "owner", seq=10**6).status_code == 404


def test_consistency_proofs_link_two_checkpoints(inst):
    flow(inst, 2)
    first = inst.get("/ledger/checkpoint", "agent").json()
    flow(inst, 5)
    second = inst.get("/ledger/checkpoint", "agent").json()
    proof = inst.get(
        "/ledger/proofs/consistency", "agent", **{"from": first["size"], "to": second["size"]}
    ).json()
    roots = [parse(c["note"]).root for c in (first, second)]
    path = [base64.b64decode(h) for h in proof["proof"]]
    assert merkle.verify_consistency(first["size"], second["size"], roots[0], roots[1], path)
    bad = inst.get("/ledger/proofs/consistency", "agent", **{"from": 9, "to": 10**6})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_tree_size"


def test_a_truncated_ledger_fails_against_its_checkpoint(inst, engine_data_dir):
    flow(inst)
    signed = inst.post("/ledger/checkpoints", "owner").json()
    tamper.truncate(file_of(engine_data_dir, inst), keep=10)
    verified = inst.get("/ledger/verify", "owner").json()
    assert verified["ok"] is False
    assert f"shorter than its checkpoint at size {signed['seq']}" in verified["reason"]
    refused = inst.get("/ledger/export", "owner", format="jsonl")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "ledger_does_not_verify"


def test_a_rewritten_rechained_ledger_without_its_checkpoints_is_caught(inst, engine_data_dir):
    """The registry keeps the newest checkpoint outside the institution's file."""
    flow(inst)
    signed = inst.post("/ledger/checkpoints", "owner").json()
    tamper.rewrite_and_rechain(
        file_of(engine_data_dir, inst), 5, '{"forged":true}', drop_checkpoints=True
    )
    verified = inst.get("/ledger/verify", "owner").json()
    assert verified["ok"] is False, verified
    assert f"checkpoint at size {signed['seq']} does not match the chain" in verified["reason"]


def test_the_cli_proves_an_event_of_an_export(inst, tmp_path):
    flow(inst)
    exported = inst.get("/ledger/export", "owner", format="jsonl")
    export = tmp_path / "ledger.jsonl"
    export.write_bytes(exported.content)
    key = exported.headers["x-libervia-public-key"]
    assert verify_offline(str(export), key).returncode == 0
    made = libervia(
        "ledger",
        "prove",
        str(export),
        "--seq",
        "7",
        "--public-key",
        key,
        "-o",
        str(tmp_path / "p.json"),
    )
    assert made.returncode == 0, made.stderr
    checked = libervia("ledger", "verify-proof", str(tmp_path / "p.json"))
    assert checked.returncode == 0 and "the key the proof carries" in checked.stdout
    missing = libervia("ledger", "prove", str(export), "--seq", "100000", "--public-key", key)
    assert missing.returncode == 1 and "not in the signed tree" in missing.stderr


def test_an_agent_reads_checkpoints_but_not_records(inst):
    assert inst.get("/ledger/checkpoint", "agent").status_code == 200
    assert inst.get("/ledger/events", "agent").status_code == 403
    assert inst.get("/ledger/checkpoint", "owner").json()["size"] >= 1
    assert httpx.get(inst.url("/ledger/checkpoint"), headers=auth("nope")).status_code == 401
