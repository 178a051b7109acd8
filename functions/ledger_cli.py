"""`libervia ledger verify | prove | verify-proof`: offline checks of exported files."""

import argparse
import json
import sys
from pathlib import Path

from ledger import LedgerError, proof
from ledger.offline import read_export, verify_export, verify_file


def _read_key(value: str) -> str:
    candidate = Path(value)
    return candidate.read_text() if candidate.is_file() else value


def add_commands(commands: "argparse._SubParsersAction") -> None:
    ledger_cmd = commands.add_parser("ledger", help="ledger tools")
    ledger_sub = ledger_cmd.add_subparsers(dest="ledger_command", required=True)
    verify = ledger_sub.add_parser("verify", help="verify an exported ledger file offline")
    verify.add_argument("file", type=Path, help="exported .jsonl or ledger .db file")
    verify.add_argument(
        "--public-key",
        required=True,
        help="engine public key (base64 or PEM), or a file holding it",
    )
    verify.set_defaults(handler=verify_command)
    prove = ledger_sub.add_parser(
        "prove", help="write a proof file for one event of an exported ledger"
    )
    prove.add_argument("file", type=Path, help="exported .jsonl or ledger .db file")
    prove.add_argument("--seq", type=int, required=True, help="the event to prove")
    prove.add_argument("--public-key", required=True, help="engine public key, or a file")
    prove.add_argument("-o", "--output", type=Path, help="default: proof-<institution>-<seq>.json")
    prove.set_defaults(handler=prove_command)
    check = ledger_sub.add_parser("verify-proof", help="check a proof file offline")
    check.add_argument("file", type=Path, help="a proof file")
    check.add_argument(
        "--public-key",
        help="engine public key, or a file (default: the key in the proof, which you must trust)",
    )
    check.set_defaults(handler=verify_proof_command)


def verify_command(args: argparse.Namespace) -> int:
    try:
        report = verify_file(args.file, _read_key(args.public_key))
    except LedgerError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    chain = report.chain
    if not chain.ok:
        print(f"FAILED: chain broken at seq {chain.first_bad_seq}: {chain.reason}", file=sys.stderr)
        return 1
    if report.signed_seq == 0:
        print("FAILED: no signed checkpoint in the file", file=sys.stderr)
        return 1
    if not report.ok:
        print(
            f"FAILED: events after seq {report.signed_seq} are not covered by a signed checkpoint",
            file=sys.stderr,
        )
        return 1
    print(
        f"OK: {chain.events} events, institution {report.institution_id}, head {chain.head_hash},"
        f" signed checkpoint at seq {report.signed_seq}"
    )
    return 0


def prove_command(args: argparse.Namespace) -> int:
    """Only a file that verifies is proved from, against its last (tree) checkpoint."""
    try:
        key = _read_key(args.public_key)
        rows, found, institution_id = read_export(args.file)
        if not verify_export(rows, found, institution_id, key).ok:
            print("FAILED: the file does not verify; run `libervia ledger verify`", file=sys.stderr)
            return 1
        signed = [c for c in found if isinstance(c, dict) and c.get("note")]
        if not signed:
            print("FAILED: the file has no tree checkpoint to prove against", file=sys.stderr)
            return 1
        made = proof.build(rows, args.seq, signed[-1], key.strip())
    except LedgerError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    target = args.output or Path(f"proof-{institution_id}-{args.seq}.json")
    target.write_text(json.dumps(made, indent=2, ensure_ascii=False) + "\n")
    print(
        f"wrote {target}: event {args.seq} in the signed tree of {made['inclusion']['tree_size']}"
    )
    return 0


def verify_proof_command(args: argparse.Namespace) -> int:
    try:
        if not args.file.is_file():
            raise LedgerError(f"{args.file}: no such file")
        key = _read_key(args.public_key) if args.public_key else None
        report = proof.verify(proof.load(args.file.read_text(encoding="utf-8")), key)
    except (LedgerError, UnicodeDecodeError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    event, stated = report.event, report.checkpoint
    print(
        f"OK: event {event['seq']} ({event['type']}) of institution {stated.institution_id}"
        f" is in the tree of {stated.size} events signed at {stated.time}"
        f" by key {report.key_fingerprint}"
        + ("" if args.public_key else " (the key the proof carries: compare it with the engine's)")
    )
    return 0
