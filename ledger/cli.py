"""`libervia ledger verify FILE --public-key KEY`: offline verification of an exported file."""

import argparse
import sys
from pathlib import Path

from ledger import LedgerError
from ledger.offline import verify_file


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
