"""libervia-agent configure | run | status | witness"""

import argparse
import json
import signal
import sys
from pathlib import Path

from agent import AgentError, __version__
from agent import service as service_setup
from agent.client import EngineClient
from agent.config import AgentConfig, default_config_path, load, save, validate
from agent.journal import Journal
from agent.runner import Runner
from agent.status import collect, render, witness_state
from agent.witness import Witness


def _default_state_dir(config_path: Path) -> str:
    return str(config_path.parent / "state")


def configure(args: argparse.Namespace) -> int:
    config = validate(
        AgentConfig(
            institution_id=args.institution_id,
            actor_token=args.actor_token,
            engine_base_url=args.engine_base_url,
            root_dir=args.root_dir,
            state_dir=args.state_dir or _default_state_dir(args.config),
            ca_bundle=args.ca_bundle,
        )
    )
    save(config, args.config)
    print(f"configured: {args.config} (mode 0600), root dir {config.root_dir}")
    return 0


def run(args: argparse.Namespace) -> int:
    config = validate(load(args.config))
    journal = Journal(config.journal_path)
    client = EngineClient(config)
    runner = Runner(config, client, journal, own_files=[Path(args.config).resolve()])
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: runner.stop.set())
    try:
        runner.run()
    finally:
        client.close()
        journal.close()
    return 0


def status(args: argparse.Namespace) -> int:
    config = load(args.config)
    report = collect(config)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if report["engine"]["reachable"] and report["engine"]["authorized"] else 3


def witness(args: argparse.Namespace) -> int:
    config = load(args.config)
    if args.reset:
        Witness(config, EngineClient(config)).reset()
        print("witness reset: the engine's next checkpoint is trusted as it is")
        return 0
    state = witness_state(config)
    print(json.dumps(state, indent=2))
    return 1 if state["status"] == "alarm" else 0


def service(args: argparse.Namespace) -> int:
    if args.action == "install":
        done = service_setup.install(args.config, start=not args.no_start)
        print(f"installed {done.service_file}")
        if args.no_start:
            print("not started (--no-start); it starts at the next login")
        else:
            print("started; it starts again at every login")
    else:
        done = service_setup.uninstall(args.config, stop=not args.no_start)
        print(f"removed {done.service_file}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="libervia-agent", description="Runs Engine-authorized jobs inside one folder."
    )
    root.add_argument("--version", action="version", version=f"libervia-agent {__version__}")
    root.add_argument(
        "--config",
        type=Path,
        default=default_config_path(),
        help="configuration file (default: %(default)s)",
    )
    commands = root.add_subparsers(dest="command", required=True)
    conf = commands.add_parser("configure", help="store the connection and the allowed folder")
    conf.add_argument("--institution-id", required=True)
    conf.add_argument("--actor-token", required=True)
    conf.add_argument("--engine-base-url", required=True)
    conf.add_argument("--root-dir", required=True)
    conf.add_argument("--state-dir", help="where the local journal lives")
    conf.add_argument("--ca-bundle", help="CA certificate file to trust for the engine's TLS")
    conf.set_defaults(func=configure)
    commands.add_parser("run", help="poll, execute and report jobs").set_defaults(func=run)
    stat = commands.add_parser("status", help="configuration, engine reachability, last jobs")
    stat.add_argument("--json", action="store_true", help="machine-readable output")
    stat.set_defaults(func=status)
    wit = commands.add_parser("witness", help="the ledger witness: what this agent verified")
    wit.add_argument(
        "--reset", action="store_true", help="forget the alarm and trust the engine afresh"
    )
    wit.set_defaults(func=witness)
    svc = commands.add_parser(
        "service", help="start the agent with the computer (systemd on Linux, launchd on macOS)"
    )
    svc.add_argument("action", choices=("install", "uninstall"))
    svc.add_argument(
        "--no-start", action="store_true", help="only write the files; do not start or stop it"
    )
    svc.set_defaults(func=service)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except AgentError as exc:
        print(f"libervia-agent: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
