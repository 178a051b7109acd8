"""What a signed-in user sees and does, always through the Engine's API."""

import contextlib
import dataclasses
import functools
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from idl.compiler import builtin_source, compile_source
from idl.model import Contract
from idl.params import is_absolute
from kernel.errors import BadRequest, Conflict, Forbidden, NotFound, Refused, Unavailable
from portal import credentials, engine_words, follow, i18n, lookup
from portal.accounts import institution_of
from portal.db import Database
from portal.engine_client import EngineClient
from portal.findings import Findings
from portal.i18n import N_, _
from portal.intent import HELP, parse
from portal.inventory import Inventory, fold
from portal.members import member_kind
from portal.onboarding import ACTORS, plan_of
from portal.secret_box import SecretBox
from portal.timeline import Person, Reader

AGENT_ONLINE_SECONDS = 60
REPORTS_KEPT = 8
_REPORTS: dict[str, dict[str, Any]] = {}  # by sha256: a report's content never changes
# By (institution, newest job.executed seq): nothing changes the folder's state in between.
_FOLDERS: dict[tuple[str, int], tuple[Inventory, Findings]] = {}
_REPORTS_LOCK = threading.Lock()
CATEGORIES = ("rbac", "approval", "execution")
DESTRUCTIVE = ("rename", "move", "delete")
MAX_SELECTION = 5000  # the contract's bound on one quarantine_files or purge
QUARANTINE_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")
QUARANTINE_DIR = ".libervia-quarantine"  # in the agent's folder, one folder per quarantine id


def actor_name(actor: dict[str, Any], people: dict[str, str]) -> str:
    """A member by their email (`people`, by engine actor id); a seat onboarding made that no
    one holds by its role, in the reader's language; any other by the engine's name for it."""
    if actor["actor_id"] in people:
        return people[actor["actor_id"]]
    if (actor["role"], actor["name"]) in ACTORS:
        return engine_words.role_label(actor["role"]).capitalize()
    return str(actor["name"])


@dataclass
class Workspace:
    """One person's institution with the engine credentials the console acts with: the
    person's own token (reads, decisions, and naming who asked), the agent's (proposals)."""

    engine: EngineClient
    institution_id: str
    engine_id: str
    name: str
    user_id: str
    role: str
    person_token: str
    agent_token: str
    admin_key: str
    plan: dict[str, Any]
    # One request's reads of what it asks for more than once (a dashboard names the actors for
    # the agent's presence and for the timeline, reads the contract for approvals and the offer,
    # and the folder for approvals and the timeline); a Workspace lives for one request.
    _read: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def open(cls, db: Database, box: SecretBox, engine: EngineClient, user_id: str) -> "Workspace":
        institution = institution_of(db, user_id)
        if institution is None or institution["onboarding_state"] != "active":
            raise Conflict(_("Finish onboarding first."), code="not_onboarded")
        role = institution["membership_role"]
        person = "owner" if role == "owner" else member_kind(user_id)
        with db.transaction() as tx:
            secrets = {
                kind: credentials.load(tx, box, institution["id"], kind)
                for kind in (person, "organizational_agent", "admin_key")
            }
        return cls(
            engine,
            institution["id"],
            institution["engine_institution_id"],
            institution["name"],
            user_id,
            role,
            secrets[person],
            secrets["organizational_agent"],
            secrets["admin_key"],
            plan_of(db, institution["plan_code"]),
        )

    def owner_only(self) -> None:
        if self.role != "owner":
            raise Forbidden(_("Only the owner can do this."), code="owner_only")

    def _get(self, path: str, **params: Any) -> Any:
        return self.engine.get(self.engine_id, path, self.person_token, **params)

    def contract(self) -> dict[str, Any]:
        contract = self._contract()
        manifest = contract["manifest"]
        rules = [
            {
                "action": name,
                "effect": spec["effect"],
                "approval": spec["approval"],
                "approvers": spec["approvers"],
                "description": spec["description"],
            }
            for name, spec in sorted(manifest["actions"].items())
        ]
        return {
            "ref": contract["ref"],
            "manifest_sha256": contract["manifest_sha256"],
            "released_at": contract["released_at"],
            "rules": rules,
        }

    def contract_offer(self) -> dict[str, Any] | None:
        """The plan's contract, when it is newer than the one in force: what it adds, and the
        manifest the owner approves (registered on the engine, not released)."""
        current = self._contract()
        name, version = self.plan["contract_ref"].split("@v", 1)
        if _version(version) <= _version(current["version"]) or name != current["name"]:
            return None
        registered = {
            b["ref"]: b
            for b in self.engine.get(self.engine_id, "/bundles", self.admin_key)["bundles"]
        }
        bundle = registered.get(self.plan["contract_ref"]) or self.engine.post(
            self.engine_id, "/bundles", self.admin_key, {"builtin": self.plan["contract_ref"]}
        )
        offered = _builtin(name, version)
        return {
            "from": current["ref"],
            "to": bundle["ref"],
            "manifest_sha256": bundle["manifest_sha256"],
            "description": offered.contract.description,
            "adds": sorted(set(offered.actions) - set(current["manifest"]["actions"])),
            "departments": offered.contract.departments,
        }

    def approve_contract(self, manifest_sha256: str | None) -> dict[str, Any]:
        """The owner approves moving to the plan's contract (the engine records it), then the
        plan's default department is activated when that contract declares it."""
        self.owner_only()
        offer = self.contract_offer()
        if offer is None:
            raise Conflict(_("Your contract is already the newest."), code="no_contract_offer")
        name, version = offer["to"].split("@v", 1)
        released = self.engine.call(
            "POST",
            self.engine.inst(self.engine_id, f"/bundles/{name}/v{version}/release"),
            self.person_token,
            json={"manifest_sha256": manifest_sha256},
        ).json()
        if self.plan["default_department"] in offer["departments"]:
            self.engine.activate_department(
                self.engine_id, self.admin_key, self.plan["default_department"]
            )
        return dict(released)

    def agent_presence(self) -> dict[str, Any]:
        agent = next(a for a in self._actors() if a["role"] == "organizational_agent")
        last_seen = agent["last_seen_at"]
        online = False
        if last_seen:
            seen = datetime.fromisoformat(last_seen.replace("Z", "+00:00"))
            online = datetime.now(UTC) - seen < timedelta(seconds=AGENT_ONLINE_SECONDS)
        return {"online": online, "last_seen_at": last_seen, "version": agent["agent_version"]}

    def inventory(self) -> dict[str, dict[str, Any]]:
        """The latest file facts the agent reported (path -> size, sha256, mtime)."""
        return self.folder_state()[0].files

    def findings(self) -> tuple[Findings, Inventory]:
        inventory, findings = self.folder_state()
        return findings, inventory

    def folder_state(self) -> tuple[Inventory, Findings]:
        """The newest whole-folder listing with every change executed since applied, from the
        ledger (small reports are in their events, large ones are fetched from their jobs),
        and what it holds for a person to browse; looked up once per request."""
        if "folder" not in self._read:
            self._read["folder"] = self._folder_state()
        state: tuple[Inventory, Findings] = self._read["folder"]
        return state

    def _folder_state(self) -> tuple[Inventory, Findings]:
        head = self._get("/ledger/events", type="job.executed", order="desc", limit=1)
        newest = head["events"][0]["seq"] if head["events"] else 0
        key = (self.engine_id, newest)
        cached = _FOLDERS.get(key)
        if cached is not None:
            return cached
        events = self._get("/ledger/events", type="job.executed", order="desc", limit=500)

        def is_whole(payload: dict[str, Any]) -> bool:
            params = self._get(f"/runtime/jobs/{payload['job_id']}")["params"]
            return params.get("path", ".") in (".", "") and params.get("recursive", True)

        inventory = fold(events["events"], self._report_of, is_whole)
        found = Findings(inventory.files, inventory.empty_folders, inventory.broken_links)
        state = (inventory, found)
        with _REPORTS_LOCK:
            _FOLDERS[key] = state
            while len(_FOLDERS) > REPORTS_KEPT:
                _FOLDERS.pop(next(iter(_FOLDERS)))
        return state

    def _report_of(self, payload: dict[str, Any]) -> dict[str, Any]:
        if "report" in payload:
            return dict(payload["report"])
        return self.stored_report(payload["job_id"], payload["report_sha256"])

    def quarantine(self, people: dict[str, str] | None = None) -> dict[str, Any]:
        """The files in the quarantine, with who approved each and when (the engine's records):
        a person by `people` (their emails by engine actor id, as the timeline names them),
        else by the engine's name for the actor."""
        held = self._get("/quarantine")["files"]
        names = {a["actor_id"]: actor_name(a, people or {}) for a in self._actors()} if held else {}
        entries = [
            {
                **entry,
                "quarantine_path": entry["path"],
                "quarantined_at": entry["placed_at"],
                "approved_by": names.get(entry["approved_by"], entry["approved_by"]),
            }
            for entry in held
        ]
        return {"files": entries, "bytes": sum(e["size"] for e in entries)}

    def _actors(self) -> list[dict[str, Any]]:
        if "actors" not in self._read:
            self._read["actors"] = self.engine.get(self.engine_id, "/actors", self.admin_key)
        return list(self._read["actors"]["actors"])

    def _contract(self) -> dict[str, Any]:
        if "contract" not in self._read:
            self._read["contract"] = self._get("/contract")
        return dict(self._read["contract"])

    def propose_quarantine(self, paths: list[str]) -> dict[str, Any]:
        """One proposal for a whole selection (1 to MAX_SELECTION files), each file named by
        what the agent saw."""
        known = self.inventory()
        missing = [p for p in paths if p not in known]
        if missing:
            raise Conflict(
                i18n.ngettext(
                    "%(num)s selected file is not in your agent's latest listing (%(paths)s);"
                    " scan again.",
                    "%(num)s selected files are not in your agent's latest listing (%(paths)s);"
                    " scan again.",
                    len(missing),
                    paths=", ".join(missing[:3]),
                ),
                code="not_in_listing",
            )
        files = [
            {"path": p, "sha256": known[p]["sha256"], "size": known[p]["size"]}
            for p in dict.fromkeys(paths)
        ]
        return self._answer(self._propose("quarantine_files", {"files": files}))

    def propose_restore(self, quarantine_id: str) -> dict[str, Any]:
        return self._answer(self._propose("restore", {"quarantine_id": quarantine_id}))

    def propose_purge(self, quarantine_ids: list[str]) -> dict[str, Any]:
        held = {e["quarantine_id"]: e for e in self.quarantine()["files"]}
        missing = [q for q in quarantine_ids if q not in held]
        if missing:
            raise Conflict(
                _("%(id)s is not in the quarantine.", id=missing[0]), code="not_in_quarantine"
            )
        files = [
            {
                "path": held[q]["quarantine_path"],
                "sha256": held[q]["sha256"],
                "size": held[q]["size"],
            }
            for q in dict.fromkeys(quarantine_ids)
        ]
        return self._answer(self._propose("purge", {"files": files}))

    def scan(self) -> dict[str, Any]:
        """Ask the agent for a fresh listing of the whole folder."""
        return self._answer(self._propose("list_files", {"path": ".", "recursive": True}))

    def _answer(self, proposal: dict[str, Any]) -> dict[str, Any]:
        return {
            "decision": proposal["decision"],
            "reason": proposal["reason"],
            "rule": proposal["rule"],
            "proposal_id": proposal["proposal_id"],
            "job_id": proposal["job_id"],
            "reply": reply(proposal),
        }

    def stored_report(self, job_id: str, sha256: str) -> dict[str, Any]:
        """A job's report as the engine keeps it, refused unless it hashes to the sha256 its
        `job.executed` event holds. Reports never change, so a few are kept in memory."""
        cached = _REPORTS.get(sha256)
        if cached is not None:
            return cached
        response = self.engine.call(
            "GET",
            self.engine.inst(self.engine_id, f"/runtime/jobs/{job_id}/report"),
            self.person_token,
        )
        if hashlib.sha256(response.content).hexdigest() != sha256:
            raise Unavailable(
                f"the engine's report of job {job_id} is not the one its ledger names",
                code="report_mismatch",
            )
        report: dict[str, Any] = json.loads(response.content)
        with _REPORTS_LOCK:
            _REPORTS[sha256] = report
            while len(_REPORTS) > REPORTS_KEPT:
                _REPORTS.pop(next(iter(_REPORTS)))
        return report

    def awaiting_approval(self) -> set[str]:
        """The files a proposal waiting for approval names (asking again would only repeat it)."""
        named: set[str] = set()
        for proposal in self._get("/approvals")["pending"]:
            params = proposal["params"]
            named.update(f["path"] for f in params.get("files", []) if isinstance(f, dict))
            if isinstance(params.get("path"), str):
                named.add(params["path"])
        return named

    def pending(self) -> list[dict[str, Any]]:
        """What waits for approval, each with what approving changes and why it waits (in the
        reader's language, from the contract's own terms)."""
        pending = self._get("/approvals")["pending"]
        inventory = self.inventory() if pending else {}
        actions = self._contract()["manifest"]["actions"] if pending else {}
        for proposal in pending:
            proposal["impact"] = impact(proposal, inventory)
            spec = actions.get(proposal["action"], {})
            proposal["reason_text"] = engine_words.reason(
                "needs_approval",
                {
                    "action": proposal["action"],
                    "effect": spec.get("effect"),
                    "approvers": spec.get("approvers"),
                },
                proposal["reason"],
            )
        return pending

    def decide(self, proposal_id: str, verdict: str, body: dict[str, Any]) -> dict[str, Any]:
        if verdict not in ("approve", "reject"):
            raise NotFound("unknown decision", code="not_found")
        return self.engine.post(
            self.engine_id, f"/proposals/{proposal_id}/{verdict}", self.person_token, body
        )

    def dashboard(self, names: dict[str, str]) -> dict[str, Any]:
        events = self._get("/ledger/events", order="desc", limit=10)["events"]
        return {
            "institution": {"name": self.name, "engine_institution_id": self.engine_id},
            "agent": self.agent_presence(),
            "pending_approvals": self.pending(),
            "contract_offer": self.contract_offer() if self.role == "owner" else None,
            "role": self.role,
            "last_actions": self.timeline(events, names)["timeline"],
        }

    def audit(
        self, category: str | None, since: str | None, until: str | None, limit: int = 500
    ) -> list[dict[str, Any]]:
        if category and category not in CATEGORIES:
            raise BadRequest(f"category must be one of {CATEGORIES}", code="bad_category")
        params: dict[str, Any] = {"order": "desc", "limit": limit}
        if category:
            params["category"] = category
        if since:
            params["since"] = _day(since, "since")
        if until:
            params["until"] = _day(until, "until", next_day=True)
        return self._get("/ledger/events", **params)["events"]

    def timeline(
        self, events: list[dict[str, Any]], names: dict[str, str], person: str | None = None
    ) -> dict[str, Any]:
        """The events as sentences, optionally only those of one person (what they did or
        asked for); `names` are the people's emails by engine actor id."""
        actors = self._actors()
        people = {a["actor_id"]: Person(actor_name(a, names), a["role"]) for a in actors}
        known = self.inventory() if events else {}
        places = quarantine_places(events)

        def summary(action: str, params: dict[str, Any]) -> str:
            try:
                said = impact({"action": action, "params": params}, known, places)
            except (KeyError, TypeError, AttributeError, ValueError):  # refused, malformed params
                return str(action)
            size = said["total_bytes"]
            if action in DESTRUCTIVE and size is not None:
                return _("%(what)s, %(size)s", what=said["summary"], size=i18n.size(size))
            return str(said["summary"])

        reader = Reader(people, summary)
        entries = [e for e in reader.read(events) if not person or e.who == person]
        return {
            "events": [e.raw for e in entries],
            "timeline": [dataclasses.asdict(e) for e in entries],
            "people": sorted(
                ({"actor_id": a["actor_id"], "name": reader.name(a["actor_id"])} for a in actors),
                key=lambda p: p["name"],
            ),
        }

    def verify(self) -> dict[str, Any]:
        """The engine re-walks the institution's whole chain."""
        return self._get("/ledger/verify")

    def engine_public_key(self) -> str:
        return str(
            self.engine.call("GET", "/v1/public-key", self.person_token).json()["public_key"]
        )

    def latest_checkpoint(self) -> dict[str, Any]:
        return self._get("/ledger/checkpoint")

    def consistency(self, old: int, size: int) -> dict[str, Any]:
        return self._get("/ledger/proofs/consistency", **{"from": old, "to": size})

    def report_witness(self, problem: str, seen: int, shown: int | None) -> None:
        """Best effort: the alarm stands in the console whatever the engine answers."""
        with contextlib.suppress(Refused):
            self.engine.post(
                self.engine_id,
                "/runtime/witness",
                self.person_token,
                {"problem": problem, "seen_size": seen, "shown_size": shown},
            )

    def event_proof(self, seq: int) -> Any:
        return self.engine.call(
            "GET",
            self.engine.inst(self.engine_id, "/ledger/proofs/event"),
            self.person_token,
            params={"seq": seq},
        )

    def export(self, fmt: str) -> Any:
        if fmt not in ("csv", "jsonl", "sqlite"):
            raise BadRequest("format must be csv, jsonl or sqlite", code="bad_format")
        return self.engine.export(self.engine_id, self.person_token, fmt)

    def chat(self, text: str, inspected: str | None = None) -> dict[str, Any]:
        """One request in words -> one proposal the engine judges. A destructive one names the
        content it acts on: found in the agent's latest listing, or first looked at by the agent
        (`inspecting`: the client asks again with `inspected` once that listing is done)."""
        intent = parse(text)
        if intent.query is not None:
            queried = self._query(intent.query, intent.params, inspected)
            return {"understood": True, "intent": {"query": intent.query}, **queried}
        if intent.action is None:
            return {"understood": False, "reply": _(intent.help or HELP)}
        action, params = retarget(intent.action, dict(intent.params))
        answer = None
        if action == "restore":
            answer = self._name_the_quarantined(params)
        elif action in DESTRUCTIVE:
            answer = self._name_the_content(action, params, inspected)
        if answer is not None:
            return {"understood": True, "intent": {"action": action}, **answer}
        proposal = self._propose(action, params)
        return {
            "understood": True,
            "intent": {"action": action, "params": proposal["params"]},
            "decision": proposal["decision"],
            "reason": proposal["reason"],
            "rule": proposal["rule"],
            "proposal_id": proposal["proposal_id"],
            "case_id": proposal["case_id"],
            "job_id": proposal["job_id"],
            "reply": reply(proposal),
        }

    def _query(self, query: str, params: dict[str, Any], inspected: str | None) -> dict[str, Any]:
        if query == "pending":
            return self._pending_reply()
        if query == "history":
            return self._history_reply(params["path"])
        return self._bulk_reply(params["kind"], params.get("path", ""), inspected)

    def _pending_reply(self) -> dict[str, Any]:
        pending = self.pending()
        if not pending:
            return {"reply": _("Nothing is waiting for your approval.")}
        shown = "; ".join(p["impact"]["summary"] for p in pending[:5])
        more = _(" and %(num)s more", num=len(pending) - 5) if len(pending) > 5 else ""
        return {
            "pending": [p["proposal_id"] for p in pending],
            "reply": _(
                "%(num)s waiting for your approval: %(shown)s%(more)s. Review them in Approvals.",
                num=len(pending),
                shown=shown,
                more=more,
            ),
        }

    def _history_reply(self, named: str) -> dict[str, Any]:
        """The newest request about `named` (a path, or a bare name) and where it stands."""
        proposals = self._get("/proposals", limit=1000)["proposals"]
        leaf = named.strip("/").rsplit("/", 1)[-1].casefold()

        def about(proposal: dict[str, Any]) -> bool:
            params = proposal["params"]
            paths = [params.get("path") or ""] + [f["path"] for f in params.get("files", [])]
            paths += [landed] if (landed := _landed(proposal["action"], params)) else []
            return any(
                p == named.strip("/")
                or ("/" not in named and p.rsplit("/", 1)[-1].casefold() == leaf)
                for p in paths
            )

        restores: dict[str, dict[str, Any]] = {}  # newer than what is looked at, by entry
        for proposal in proposals:  # newest first
            if proposal["action"] == "restore":
                restores.setdefault(str(proposal["params"].get("quarantine_id")), proposal)
                continue
            if proposal["action"] in ("list_files", "detect_duplicates", "suggest_cleanup"):
                continue
            if about(proposal):
                viewed = self.proposal(proposal["proposal_id"])
                if restore := _restore_since(viewed, restores):
                    proposal, viewed = restore, self.proposal(restore["proposal_id"])
                state = viewed["state"]
                return {
                    "proposal_id": proposal["proposal_id"],
                    "state": state,
                    "reply": _(
                        "%(name)s: %(action)s asked %(when)s; %(state)s.",
                        name=named,
                        action=engine_words.action_label(proposal["action"]),
                        when=i18n.when(proposal["created_at"]),
                        state=state["message"],
                    ),
                }
        return {"reply": _("Nothing was asked about %(name)s yet.", name=named)}

    def _bulk_reply(self, kind: str, folder: str, inspected: str | None) -> dict[str, Any]:
        """Every duplicate copy, empty or temporary file under `folder`, in one proposal."""
        found, inventory = self.findings()
        if not inventory.whole and inspected is None:
            scan = self.scan()
            return {
                "inspecting": scan["proposal_id"],
                "reply": _("First your agent looks at your whole folder; the proposal follows."),
            }
        prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
        if prefix and not any(p.startswith(prefix) for p in inventory.files):
            return {
                "not_found": True,
                "reply": _("There is no folder %(folder)s in your folder.", folder=folder),
            }
        if kind == "duplicates":
            paths = found.copies_in(folder)
        else:
            kinds = {k["kind"]: k["files"] for k in found.cleanup()}
            paths = [f["path"] for f in kinds[kind] if f["path"].startswith(prefix)]
        if not paths:
            none = {
                "duplicates": _("There are no duplicate copies in %(where)s."),
                "empty": _("There are no empty files in %(where)s."),
                "temporary": _("There are no temporary files in %(where)s."),
            }[kind]
            return {"reply": none % {"where": folder.strip("/") if prefix else _("your folder")}}
        waiting = self.awaiting_approval()
        if not (paths := [p for p in paths if p not in waiting]):
            return {
                "reply": _("All of them already wait for your approval. Review them in Approvals.")
            }
        answer = self.propose_quarantine(paths[:MAX_SELECTION])
        if len(paths) > MAX_SELECTION:
            answer["reply"] += _(
                " (the first %(first)s of %(all)s; ask again after)",
                first=MAX_SELECTION,
                all=len(paths),
            )
        return {**answer, "count": min(len(paths), MAX_SELECTION)}

    def _propose(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """The agent proposes what the person asked for; the person's own token tells the
        engine who asked (the ledger records both)."""
        return dict(
            self.engine.call(
                "POST",
                self.engine.inst(self.engine_id, "/proposals"),
                self.agent_token,
                json={"action": action, "params": params},
                headers={"X-Libervia-Requester": self.person_token},
            ).json()
        )

    def _name_the_content(
        self, action: str, params: dict[str, Any], inspected: str | None
    ) -> dict[str, Any] | None:
        """Fill in the path and sha256 the agent observed, or say what stands in the way. An
        absolute path goes as said: the engine refuses it (and its ledger records that)."""
        named = params["path"]
        if is_absolute(named):
            return None
        found = lookup.find(self.inventory(), named)
        if found.ambiguous:
            return _which_one(found, named)
        if found.file is not None:
            params["path"], params["sha256"] = found.file["path"], found.file["sha256"]
            return None
        if inspected is not None:
            state = self.proposal(inspected)["state"]
            if not state["final"]:
                return {"inspecting": inspected, "state": state, "reply": state["message"]}
            if state["state"] == "done" or state["code"] == "not_found":
                return {
                    "not_found": True,
                    "reply": _("%(name)s was not found in your folder.", name=named),
                }
            return {
                "reply": _(
                    "Your agent could not look for %(name)s: %(state)s",
                    name=named,
                    state=state["message"],
                )
            }
        folder, recursive = lookup.folder_to_inspect(named)
        look = self._propose("list_files", {"path": folder, "recursive": recursive})
        if look["decision"] != "allowed":
            return {key: look[key] for key in ("decision", "rule", "reason")} | {
                "reply": reply(look)
            }
        where = _("your folder") if folder == "." else f"{folder}/"
        return {
            "inspecting": look["proposal_id"],
            "reply": _(
                "First your agent looks at %(where)s to see %(name)s as it is now; the proposal"
                " follows.",
                where=where,
                name=named,
            ),
        }

    def _name_the_quarantined(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """A restore names the file by where it was: the quarantine entry it is (the latest, if
        it was deleted more than once), or what stands in the way."""
        named = params.pop("path")
        held = sorted(self.quarantine()["files"], key=lambda e: e["quarantined_at"])
        found = lookup.find({e["original_path"]: e for e in held}, named)
        if found.ambiguous:
            return _which_one(found, named)
        if found.file is None:
            return {"reply": _("%(name)s is not in the quarantine.", name=named)}
        params["quarantine_id"] = found.file["quarantine_id"]
        return None

    def proposal(self, proposal_id: str) -> dict[str, Any]:
        """A proposal, its job, and the one state a person reads (`state`)."""
        proposal = self._get(f"/proposals/{proposal_id}")
        job = self._get(f"/runtime/jobs/{proposal['job_id']}") if proposal["job_id"] else None
        if job is not None:
            proposal["job"] = job
        agent = self.agent_presence() if job and job["status"] == "queued" else None
        proposal["state"] = follow.describe(proposal, job, agent).view()
        return proposal


def _restore_since(
    viewed: dict[str, Any], restores: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """The newer restore of what a proposal (with its job, as `Workspace.proposal` views it)
    put in the quarantine, if one was asked."""
    if viewed["action"] not in ("delete", "quarantine_files"):
        return None
    job = viewed.get("job") or {}
    report = job.get("result") if isinstance(job.get("result"), dict) else {}
    places = quarantine_places([{"type": "job.executed", "payload": {"report": report}}])
    return next((restores[qid] for qid in places if qid in restores), None)


def _landed(action: str, params: dict[str, Any]) -> str | None:
    """Where a rename or a move puts its file."""
    path = str(params.get("path") or "").strip("/")
    if action == "rename" and params.get("new_name"):
        folder = path.rpartition("/")[0]
        return f"{folder}/{params['new_name']}" if folder else str(params["new_name"])
    if action == "move" and params.get("destination"):
        folder = str(params["destination"]).strip("/")
        name = params.get("new_name") or path.rpartition("/")[2]
        return name if folder in ("", ".") else f"{folder}/{name}"
    return None


def _which_one(found: lookup.Lookup, named: str) -> dict[str, Any]:
    shown = found.choices[: lookup.MAX_CHOICES]
    more = len(found.choices) - len(shown)
    return {
        "choices": found.choices,
        "reply": _(
            "%(num)s files are called %(name)s: %(paths)s%(more)s. Which one? Say it"
            " with its folder.",
            num=len(found.choices),
            name=named,
            paths=", ".join(shown),
            more=_(" and %(num)s more", num=more) if more else "",
        ),
    }


def retarget(action: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`rename "Misc/a" to "Misc/b"` is a rename to "b"; to another folder it is one move
    that also renames. A move to what names a file (`move a.txt to Docs/a.txt`, or to
    `Docs/b.txt`: the file's name, or one with its extension) is read as `mv` reads it: into
    Docs, under that name. An absolute target goes as said (the engine refuses it)."""
    if is_absolute(str(params.get("destination") or params.get("new_name") or "")):
        return action, params
    if action == "move" and "new_name" not in params and _names_a_file(params):
        folder, _sep, leaf = params.pop("destination").rpartition("/")
        return _placed(params, folder, leaf)
    if action == "rename" and "/" in params.get("new_name", ""):
        folder, _sep, leaf = params["new_name"].rpartition("/")
        return _placed(params, folder, leaf)
    return action, params


def _placed(params: dict[str, Any], folder: str, leaf: str) -> tuple[str, dict[str, Any]]:
    """The file at `path` put at `folder`/`leaf`: a rename where it is, else a move (that
    renames it too when the name changes)."""
    here = params["path"].strip("/").rpartition("/")[0]
    folder = "" if folder.strip("/") in ("", ".") else folder.strip("/")
    if folder == here:
        return "rename", {**params, "new_name": leaf}
    moved = {k: v for k, v in params.items() if k != "new_name"} | {"destination": folder or "."}
    if leaf != params["path"].rpartition("/")[2]:
        moved["new_name"] = leaf
    return "move", moved


def _names_a_file(params: dict[str, Any]) -> bool:
    destination = params.get("destination", "")
    name = PurePosixPath(params.get("path", ""))
    leaf = PurePosixPath(destination)
    if destination.endswith("/") or not name.name:
        return False
    return leaf.name == name.name or (
        bool(name.suffix) and leaf.suffix.lower() == name.suffix.lower()
    )


@functools.cache
def _builtin(name: str, version: str) -> Contract:
    """A built-in contract, to describe an offer (compiled once per process)."""
    return compile_source(builtin_source(name, version)).contract


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _day(value: str, name: str, next_day: bool = False) -> str:
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError as exc:
        raise BadRequest(f"{name} must be a date like 2026-01-31", code="bad_date") from exc
    if next_day:
        day += timedelta(days=1)
    return day.strftime("%Y-%m-%dT00:00:00Z")


# The read actions as asked of the whole folder, or of one folder in it.
READ_SUMMARIES = {
    "list_files": (N_("list your folder"), N_("list %(path)s/")),
    "detect_duplicates": (N_("find duplicates in your folder"), N_("find duplicates in %(path)s/")),
    "suggest_cleanup": (
        N_("suggest a cleanup of your folder"),
        N_("suggest a cleanup of %(path)s/"),
    ),
}


def quarantine_places(events: list[dict[str, Any]]) -> dict[str, str]:
    """Where each quarantined file was (its path, by quarantine id), as the agent's reports in
    `events` say: the files a delete or quarantine_files put there, the file a restore took
    back."""
    places: dict[str, str] = {}
    for event in events:
        payload = event.get("payload") if event.get("type") == "job.executed" else None
        report = payload.get("report") if isinstance(payload, dict) else None
        if not isinstance(report, dict):
            continue
        if isinstance(report.get("quarantine_id"), str) and isinstance(report.get("restored"), str):
            places[report["quarantine_id"]] = report["restored"]
        files = report.get("files")
        for touched in files if isinstance(files, list) else []:
            if not isinstance(touched, dict) or not isinstance(touched.get("path"), str):
                continue
            parts = str(touched.get("new_path") or "").split("/")
            if len(parts) > 2 and parts[0] == QUARANTINE_DIR:
                places[parts[1]] = touched["path"]
    return places


def impact(
    proposal: dict[str, Any],
    inventory: dict[str, dict[str, Any]],
    places: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What approving changes, file by file, with sizes, hashes and the total; a quarantined
    file named where it was when `places` knows it."""
    params = proposal["params"]
    places = places or {}
    action = proposal["action"]
    if action in ("quarantine_files", "purge"):
        files = [{k: f[k] for k in ("path", "size", "sha256")} for f in params.get("files", [])]
        total = sum(f["size"] for f in files)
        summary = (
            i18n.ngettext(
                "quarantine %(num)s file, %(size)s (restorable)",
                "quarantine %(num)s files, %(size)s (restorable)",
                len(files),
                size=i18n.size(total),
            )
            if action == "quarantine_files"
            else i18n.ngettext(
                "erase %(num)s quarantined file for good, %(size)s",
                "erase %(num)s quarantined files for good, %(size)s",
                len(files),
                size=i18n.size(total),
            )
        )
        return {"summary": summary, "files": files, "count": len(files), "total_bytes": total}
    path = params.get("path")
    known = inventory.get(path or "", {})
    seen = known.get("sha256") == params.get("sha256")
    size = known.get("size") if seen else None
    if action == "delete":
        summary = _("delete %(path)s (moved to quarantine, restorable)", path=path)
    elif action == "rename":
        summary = _("rename %(path)s to %(name)s", path=path, name=params.get("new_name"))
    elif action == "move" and params.get("new_name"):
        summary = _(
            "move %(path)s into %(folder)s/ as %(name)s",
            path=path,
            folder=params.get("destination"),
            name=params["new_name"],
        )
    elif action == "move":
        summary = _("move %(path)s into %(folder)s/", path=path, folder=params.get("destination"))
    elif action == "restore" and params.get("quarantine_id") in places:
        summary = _("restore %(path)s from the quarantine", path=places[params["quarantine_id"]])
    elif action == "restore":
        summary = _("restore %(id)s from the quarantine", id=params.get("quarantine_id"))
    elif action in READ_SUMMARIES:
        whole, folder = READ_SUMMARIES[action]
        where = params.get("path") or "."
        summary = _(whole) if where in (".", "") else _(folder, path=where)
    else:
        summary = engine_words.action_label(action)
    files = [{"path": path, "size": size, "sha256": params.get("sha256")}]
    return {"summary": summary, "files": files, "count": 1, "total_bytes": size}


def reply(proposal: dict[str, Any]) -> str:
    """The engine's decision in the reader's language, its reason said from the engine's code
    (the engine's own words when the code is one this portal does not know)."""
    decision, action = proposal["decision"], proposal["action"]
    if decision == "allowed":
        return _(
            "Allowed by the Engine: %(action)s only reads or restores, so it runs without"
            " approval. Your agent will run it.",
            action=engine_words.action_label(action),
        )
    said = engine_words.reason(
        proposal.get("reason_code"), proposal.get("reason_args"), proposal["reason"]
    )
    if decision == "pending_approval":
        return _("Needs approval: %(reason)s. Review it in Approvals.", reason=said)
    return _("Denied by the Engine: %(reason)s", reason=said)
