"""`libervia smoke --console-url URL`: walk a deployed stack as a new user would.

Signs up a sandbox account, onboards it, runs a local agent on a temporary folder, and walks
list -> delete -> pending (nothing moved) -> approve -> executed (file in quarantine) -> ledger
exported and verified offline, printing each step with its timing. It then stops the agent,
removes the folder and signs the sandbox out everywhere. The sandbox institution stays: its
ledger is permanent by design (it is named "smoke <time>").
"""

import argparse
import secrets
import shlex
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ledger import LedgerError
from ledger.offline import verify_file


class SmokeFailed(Exception):
    """A step of the walk did not do what it must."""


class Walk:
    def __init__(self, console_url: str, verify: ssl.SSLContext | bool, timeout: float) -> None:
        base = console_url.rstrip("/")
        self.http = httpx.Client(base_url=base, verify=verify, timeout=30, headers={"Origin": base})
        self.timeout = timeout
        self.csrf = ""
        self.step_no = 0

    def step(self, what: str, action: Callable[[], str | None]) -> None:
        self.step_no += 1
        started = time.monotonic()
        try:
            detail = action()
        except SmokeFailed as exc:
            print(f"{self.step_no:>2}. FAILED {what}: {exc}", flush=True)
            raise
        elapsed = (time.monotonic() - started) * 1000
        print(f"{self.step_no:>2}. {what:<44} {elapsed:>8.0f} ms  {detail or ''}", flush=True)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            response = self.http.request(
                method, path, json=body, headers={"X-CSRF-Token": self.csrf}
            )
        except httpx.HTTPError as exc:
            raise SmokeFailed(f"{method} {path}: {exc}") from exc
        if response.status_code >= 400:
            raise SmokeFailed(f"{method} {path} answered {response.status_code}: {response.text}")
        return response

    def json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.call(method, path, body).json()

    def settled(self, proposal_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            state = self.json("GET", f"/api/proposals/{proposal_id}")["state"]
            if state["final"]:
                return dict(state)
            time.sleep(0.25)
        raise SmokeFailed(f"{proposal_id} did not finish in {self.timeout:.0f} s")


@contextmanager
def running_agent(command: list[str], config: Path, log: Path) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "--config", str(config), "run"], stdout=out, stderr=out
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def smoke(args: argparse.Namespace) -> int:
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=args.ca_bundle) if args.ca_bundle else True
    )
    walk = Walk(args.console_url, verify, args.timeout)
    agent_command = (
        shlex.split(args.agent_command)
        if args.agent_command
        else [
            sys.executable,
            "-m",
            "agent",
        ]
    )
    email = f"smoke-{secrets.token_hex(6)}@example.invalid"
    state: dict[str, Any] = {}
    started = time.monotonic()
    print(f"smoke of {args.console_url} as {email}")
    with tempfile.TemporaryDirectory(prefix="libervia-smoke-") as work:
        folder = Path(work) / "folder"
        folder.mkdir()
        target = folder / "smoke.txt"
        target.write_bytes(b"libervia smoke " + secrets.token_bytes(8).hex().encode())
        try:
            _walk(walk, args, agent_command, email, Path(work), folder, target, state)
        except SmokeFailed:
            print(f"smoke FAILED after {time.monotonic() - started:.1f} s", file=sys.stderr)
            return 1
        finally:
            if walk.csrf:
                with suppress(SmokeFailed):
                    walk.call("POST", "/api/logout-everywhere", {})
            walk.http.close()
    print(f"smoke passed in {time.monotonic() - started:.1f} s")
    return 0


def _walk(
    walk: Walk,
    args: argparse.Namespace,
    agent_command: list[str],
    email: str,
    work: Path,
    folder: Path,
    target: Path,
    state: dict[str, Any],
) -> None:
    def sign_up() -> str:
        walk.csrf = walk.json("GET", "/api/session")["csrf_token"]
        password = secrets.token_urlsafe(18)
        walk.csrf = walk.json("POST", "/api/signup", {"email": email, "password": password})[
            "csrf_token"
        ]
        return email

    def onboard() -> str:
        name = f"smoke {datetime.now(UTC):%Y-%m-%d %H:%M:%S}"
        state["package"] = walk.json("POST", "/api/onboarding", {"name": name})
        runtime = state["package"]["runtime_package"]
        return f"{runtime['institution_id']} on {state['package']['contract']['ref']}"

    def configure() -> str:
        runtime = state["package"]["runtime_package"]
        config = work / "agent.json"
        command = [
            *agent_command,
            "--config",
            str(config),
            "configure",
            "--institution-id",
            runtime["institution_id"],
            "--actor-token",
            runtime["agent_token"],
            "--engine-base-url",
            args.engine_url or runtime["engine_base_url"],
            "--root-dir",
            str(folder),
        ]
        if args.ca_bundle:
            command += ["--ca-bundle", args.ca_bundle]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SmokeFailed(f"the agent refused its configuration: {done.stderr.strip()}")
        state["config"] = config
        return str(folder)

    walk.step("sign up a sandbox account", sign_up)
    walk.step("onboard (institution, actors, contract)", onboard)
    walk.step("configure a local agent", configure)
    with running_agent(agent_command, state["config"], work / "agent.log"):

        def listed() -> str:
            asked = walk.json("POST", "/api/chat", {"text": "listar arquivos"})
            if asked.get("decision") != "allowed":
                raise SmokeFailed(f"the listing was {asked.get('decision')}: {asked['reply']}")
            final = walk.settled(asked["proposal_id"])
            if final["state"] != "done":
                raise SmokeFailed(final["message"])
            return final["message"]

        def delete_waits() -> str:
            asked = walk.json("POST", "/api/chat", {"text": f"apagar arquivo {target.name}"})
            if asked.get("decision") != "pending_approval":
                raise SmokeFailed(f"the delete was not left for approval: {asked['reply']}")
            state["proposal_id"] = asked["proposal_id"]
            time.sleep(1)  # the agent polls all along: nothing may move before the approval
            if not target.exists():
                raise SmokeFailed("the file was deleted before anyone approved")
            return f"{asked['proposal_id']} pending"

        def approve() -> str:
            pending = {p["proposal_id"]: p for p in walk.json("GET", "/api/approvals")["pending"]}
            card = pending.get(state["proposal_id"])
            if card is None:
                raise SmokeFailed("the delete is not among the approvals")
            walk.json(
                "POST",
                f"/api/approvals/{card['proposal_id']}/approve",
                {"digest": card["digest"], "reason": "libervia smoke"},
            )
            return f"digest {card['digest'][:16]}…"

        def executed() -> str:
            final = walk.settled(state["proposal_id"])
            if final["state"] != "done" or target.exists():
                raise SmokeFailed(f"the delete did not run: {final['message']}")
            return final["message"]

        walk.step("list the folder (read-only, runs at once)", listed)
        walk.step("delete waits for approval, nothing moved", delete_waits)
        walk.step("approve exactly what was asked", approve)
        walk.step("the agent executes it (file in quarantine)", executed)

    def ledger() -> str:
        key = walk.json("GET", "/api/audit/public-key")["public_key"]
        exported = walk.call("GET", "/api/audit/export?format=sqlite")
        path = work / "ledger.db"
        path.write_bytes(exported.content)
        try:
            report = verify_file(path, key)
        except LedgerError as exc:
            raise SmokeFailed(f"the exported ledger does not verify: {exc}") from exc
        if not report.ok:
            raise SmokeFailed(f"the exported ledger does not verify: {report.chain.reason}")
        return f"{report.chain.events} events, signed up to seq {report.signed_seq}"

    walk.step("ledger exported and verified offline", ledger)


def add_command(commands: "argparse._SubParsersAction") -> None:
    parser = commands.add_parser(
        "smoke", help="walk a deployed stack as a new user (sandbox account, local agent)"
    )
    parser.add_argument("--console-url", required=True, help="e.g. https://portal.example")
    parser.add_argument("--ca-bundle", help="trust this CA for the console and the engine")
    parser.add_argument("--engine-url", help="the engine URL for the agent (default: onboarding's)")
    parser.add_argument("--agent-command", help="how to run the agent (default: this Python)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per job to finish")
    parser.set_defaults(handler=smoke)
