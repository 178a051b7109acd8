"""`libervia`: the operator's commands (ledger verify, backups, the clock, migrations)."""

import argparse
import os
import sys
from importlib.metadata import version
from pathlib import Path

from functions import ledger_cli, smoke
from tenants import TenantError


def _backup_root(value: str | None) -> Path:
    if value:
        return Path(value)
    if env := os.environ.get("LIBERVIA_BACKUP_DIR"):
        return Path(env)
    return Path(os.environ.get("LIBERVIA_DATA_DIR", "./var")) / "backups"


def backup_create(args: argparse.Namespace) -> int:
    from tenants.backups import create_backup

    result = create_backup(
        Path(args.data_dir),
        _backup_root(args.backup_dir),
        database_url=args.database_url or None,
        keep=args.keep,
    )
    print(
        f"backup {result.path}: {result.institutions} institutions, {result.files} files,"
        f" {result.ledger_events} ledger events verified; pruned {len(result.pruned)}"
    )
    for institution_id, problem in result.broken_ledgers.items():
        print(f"error: ledger of {institution_id} does not verify: {problem}", file=sys.stderr)
    return 0 if result.ok else 1


def backup_list(args: argparse.Namespace) -> int:
    from tenants.backups import list_backups, read_manifest

    for path in list_backups(_backup_root(args.backup_dir)):
        manifest = read_manifest(path)
        print(
            f"{path}  {manifest['created_at']}  institutions={len(manifest['institutions'])}"
            f"  events={manifest['ledger_events']}  accounts={manifest['accounts']}"
        )
    return 0


def backup_restore(args: argparse.Namespace) -> int:
    from tenants.backups import restore_backup

    summary = restore_backup(
        Path(args.backup),
        Path(args.data_dir),
        database_url=args.database_url or None,
        force=args.force,
    )
    print(
        f"restored {args.backup} into {args.data_dir}: {summary['institutions']} institutions,"
        f" {summary['ledger_events']} ledger events verified"
    )
    return 0


def clock(args: argparse.Namespace) -> int:
    from functions import logs
    from functions.clock import ClockSettings, run

    logs.configure("clock")
    run(ClockSettings.from_env())
    return 0


def check(args: argparse.Namespace) -> int:
    from governance.consistency import check_data_dir

    checked = failed = 0
    for result in check_data_dir(Path(args.data_dir), args.institution):
        checked += 1
        if result.ok and result.report and result.chain:
            if args.verbose:
                print(
                    f"ok {result.institution_id}: {result.report.records} records,"
                    f" {result.chain.events} events"
                )
            continue
        failed += 1
        if result.problem:
            print(f"FAILED {result.institution_id}: {result.problem}")
            continue
        if result.chain and not result.chain.ok:
            print(
                f"FAILED {result.institution_id}: chain broken at seq"
                f" {result.chain.first_bad_seq}: {result.chain.reason}"
            )
        for mismatch in result.report.mismatches if result.report else []:
            print(f"FAILED {result.institution_id}: {mismatch}")
    print(f"checked {checked} institutions: {checked - failed} ok, {failed} with problems")
    return 1 if failed else 0


def storage_migrate(args: argparse.Namespace) -> int:
    from tenants.migration import migrate_data_dir

    results = migrate_data_dir(Path(args.data_dir))
    outcomes: dict[str, int] = {}
    for result in results:
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        if result.outcome == "failed":
            print(f"FAILED {result.institution_id}: {result.problem}", file=sys.stderr)
        elif result.outcome != "current":
            print(f"{result.outcome} {result.institution_id}: {result.events} events verified")
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
    print(f"{len(results)} institutions: {summary or 'none'}")
    return 1 if outcomes.get("failed") else 0


def migrate(args: argparse.Namespace) -> int:
    from portal.db import open_database
    from portal.migrations import migrate as apply

    data_dir = Path(os.environ.get("LIBERVIA_DATA_DIR", "./var"))
    data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(os.environ.get("LIBERVIA_DATABASE_URL") or None, data_dir / "accounts.db")
    try:
        apply(db)
    finally:
        db.close()
    print("accounts store is up to date")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="libervia", description=__doc__)
    root.add_argument("--version", action="version", version=f"libervia {version('libervia')}")
    commands = root.add_subparsers(dest="command", required=True)
    ledger_cli.add_commands(commands)

    data_dir = os.environ.get("LIBERVIA_DATA_DIR", "./var")
    database_url = os.environ.get("LIBERVIA_DATABASE_URL", "")
    backup = commands.add_parser("backup", help="online backups and restore")
    backup_sub = backup.add_subparsers(dest="backup_command", required=True)
    create = backup_sub.add_parser("create", help="back up every institution and the accounts")
    create.add_argument("--data-dir", default=data_dir)
    create.add_argument("--backup-dir", help="default: $LIBERVIA_BACKUP_DIR or DATA_DIR/backups")
    create.add_argument("--database-url", default=database_url, help="PostgreSQL to pg_dump")
    create.add_argument("--keep", type=int, default=int(os.environ.get("LIBERVIA_BACKUP_KEEP", 14)))
    create.set_defaults(handler=backup_create)
    listing = backup_sub.add_parser("list", help="complete backups, oldest first")
    listing.add_argument("--backup-dir")
    listing.set_defaults(handler=backup_list)
    restore = backup_sub.add_parser("restore", help="restore a backup (stop the services first)")
    restore.add_argument("backup", help="a backup folder")
    restore.add_argument("--data-dir", default=data_dir)
    restore.add_argument("--database-url", default=database_url, help="PostgreSQL to restore into")
    restore.add_argument("--force", action="store_true", help="replace an existing data dir")
    restore.set_defaults(handler=backup_restore)

    checking = commands.add_parser(
        "check", help="every record has its ledger events and every event its record"
    )
    checking.add_argument("--data-dir", default=data_dir)
    checking.add_argument("--institution", help="one institution id (default: all)")
    checking.add_argument("-v", "--verbose", action="store_true", help="list healthy ones too")
    checking.set_defaults(handler=check)

    storage = commands.add_parser("storage", help="the data dir's storage layout")
    storage_sub = storage.add_subparsers(dest="storage_command", required=True)
    migrating = storage_sub.add_parser(
        "migrate", help="move institutions from tenant.db + ledger.db to one institution.db"
    )
    migrating.add_argument("--data-dir", default=data_dir)
    migrating.set_defaults(handler=storage_migrate)

    smoke.add_command(commands)
    commands.add_parser("clock", help="run the scheduler (sweeps, backups)").set_defaults(
        handler=clock
    )
    commands.add_parser("migrate", help="bring the accounts store up to date").set_defaults(
        handler=migrate
    )
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except TenantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
