"""The portal's JSON APIs: onboarding, dashboard, approvals, audit, chat."""

import re
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions import logs
from functions.console import bodies, downloads
from functions.console.bodies import PROPOSAL_ID, posted
from functions.console.services import people_names, services, workspace
from kernel.bodies import B, Body
from kernel.errors import BadRequest, Forbidden, NotFound
from portal import agent_token, witness
from portal.accounts import get_user, institution_of
from portal.findings import localized
from portal.i18n import _
from portal.onboarding import onboard
from portal.security import current_user_id
from portal.workspace import Workspace

ACTOR_ID = re.compile(r"act_[0-9a-f]{24}")
SHOWN = 200  # files of each cleanup kind in one answer (the counts and sizes cover them all)


async def onboarding(request: Request) -> JSONResponse:
    name = (await posted(request, bodies.NewInstitution)).name or "My institution"
    user_id = current_user_id(request)
    s = services(request)

    def work():
        joined = institution_of(s.db, user_id)
        if joined is not None and joined["membership_role"] != "owner":
            raise Forbidden(_("Only the owner can do this."), code="owner_only")
        user = get_user(s.db, user_id)
        return onboard(s.db, s.box, s.engine, user, name, s.settings.engine_public_url)

    return JSONResponse(await run_in_threadpool(work))


def contract(request: Request) -> JSONResponse:
    return JSONResponse(workspace(request).contract())


def dashboard_view(request: Request, ws: Workspace) -> dict:
    """The dashboard, with the newest published agent build when the agent runs an older one."""
    shown = ws.dashboard(people_names(request, ws))
    dist = services(request).settings.agent_dist_dir
    shown["agent"]["newer_build"] = downloads.newer_build(dist, shown["agent"]["version"])
    return shown


def dashboard(request: Request) -> JSONResponse:
    return JSONResponse(dashboard_view(request, workspace(request)))


def approvals(request: Request) -> JSONResponse:
    return JSONResponse({"pending": workspace(request).pending()})


async def decide(request: Request) -> JSONResponse:
    asked = await posted(request, bodies.Verdict)
    decision: dict[str, str | None] = {"reason": asked.reason}
    if request.path_params["verdict"] == "approve":
        decision["digest"] = asked.digest
    proposal_id = proposal_of(request)
    verdict = request.path_params["verdict"]
    result = await run_in_threadpool(
        lambda: workspace(request).decide(proposal_id, verdict, decision)
    )
    logs.bind_case(result.get("case_id"))
    return JSONResponse(result)


def proposal_of(request: Request) -> str:
    """The proposal id of the path, in the engine's one format (else there is no such one)."""
    proposal_id = request.path_params["proposal_id"]
    if not PROPOSAL_ID.fullmatch(proposal_id):
        raise NotFound("there is no such proposal", code="proposal_not_found")
    return proposal_id


def proposal(request: Request) -> JSONResponse:
    return JSONResponse(workspace(request).proposal(proposal_of(request)))


def audit_view(request: Request, ws: Workspace) -> dict:
    """The audit timeline the query asks for."""
    q = request.query_params
    person = q.get("person") or None
    if person is not None and not ACTOR_ID.fullmatch(person):
        raise BadRequest("person must be an actor id", code="bad_person")
    events = ws.audit(q.get("category") or None, q.get("since") or None, q.get("until") or None)
    return ws.timeline(events, people_names(request, ws), person)


def audit(request: Request) -> JSONResponse:
    return JSONResponse(audit_view(request, workspace(request)))


def audit_export(request: Request) -> Response:
    upstream = workspace(request).export(request.query_params.get("format", "jsonl"))
    headers = {
        name: upstream.headers[name]
        for name in ("content-disposition", "x-libervia-public-key", "x-libervia-checkpoint-seq")
        if name in upstream.headers
    }
    return Response(
        upstream.content, media_type=upstream.headers.get("content-type"), headers=headers
    )


def audit_verify(request: Request) -> JSONResponse:
    """The engine's verification of the chain and its checkpoints, and this console's own
    witness of the ledger (does it extend what the console saw before?)."""
    ws = workspace(request)
    return JSONResponse({**ws.verify(), "witness": witness.check(services(request).db, ws)})


def audit_proof(request: Request) -> Response:
    """One event's proof file, to show an auditor that event and nothing else."""
    raw = request.query_params.get("seq", "")
    if not raw.isdigit() or not 0 < int(raw) < 2**62:
        raise BadRequest("seq must be a positive integer", code="bad_seq")
    upstream = workspace(request).event_proof(int(raw))
    return Response(
        upstream.content,
        media_type="application/json",
        headers={"content-disposition": upstream.headers.get("content-disposition", "")},
    )


def public_key(request: Request) -> JSONResponse:
    current_user_id(request)
    return JSONResponse(services(request).engine.http.get("/v1/public-key").json())


async def chat(request: Request) -> JSONResponse:
    asked = await posted(request, bodies.Chat)
    result = await run_in_threadpool(lambda: workspace(request).chat(asked.text, asked.inspected))
    logs.bind_case(result.get("case_id"))
    return JSONResponse(result)


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}", code="bad_query")
    return int(raw)


def folder_query(request: Request) -> dict:
    q = request.query_params
    for name in ("folder", "q"):
        if len(q.get(name, "")) > 1024:
            raise BadRequest(f"{name} is longer than 1024 characters", code="bad_query")
    return {
        "folder": q.get("folder", ""),
        "search": q.get("q", ""),
        "sort": q.get("sort", "path"),
        "descending": q.get("desc") == "1",
        "page": _int(request, "page", 1, 1, 10**6),
        "per_page": _int(request, "per_page", 50, 1, 200),
    }


def files(request: Request) -> JSONResponse:
    query = folder_query(request)
    found, inventory = workspace(request).findings()
    return JSONResponse({**found.folder(**query), "listed_at": inventory.listed_at})


def duplicates(request: Request) -> JSONResponse:
    keep = request.query_params.get("keep", "shortest")
    page = _int(request, "page", 1, 1, 10**6)
    per_page = _int(request, "per_page", 20, 1, 200)

    found, inventory = workspace(request).findings()
    return JSONResponse(
        {**found.duplicates(keep, page, per_page), "listed_at": inventory.listed_at}
    )


def cleanup(request: Request) -> JSONResponse:
    found, inventory = workspace(request).findings()
    kinds = localized(found.cleanup(request.query_params.get("keep", "shortest"), shown=SHOWN))
    return JSONResponse({"kinds": kinds, "listed_at": inventory.listed_at})


def quarantine(request: Request) -> JSONResponse:
    ws = workspace(request)
    return JSONResponse(ws.quarantine(people_names(request, ws)))


async def _act(request: Request, model: type[B], act: Callable[[Workspace, B], dict]) -> Response:
    """Read the body as `model`, then act on it in the workspace (off the event loop)."""
    asked = await posted(request, model)
    return JSONResponse(await run_in_threadpool(lambda: act(workspace(request), asked)))


async def quarantine_files(request: Request) -> Response:
    return await _act(request, bodies.Quarantine, lambda ws, b: ws.propose_quarantine(b.paths))


async def restore(request: Request) -> Response:
    return await _act(request, bodies.Restore, lambda ws, b: ws.propose_restore(b.quarantine_id))


async def purge(request: Request) -> Response:
    return await _act(request, bodies.Purge, lambda ws, b: ws.propose_purge(b.quarantine_ids))


async def scan(request: Request) -> Response:
    return await _act(request, Body, lambda ws, _: ws.scan())


async def approve_contract(request: Request) -> Response:
    return await _act(
        request, bodies.ContractApproval, lambda ws, b: ws.approve_contract(b.manifest_sha256)
    )


async def reissue_agent_token(request: Request) -> JSONResponse:
    """The owner's new agent token (the old one stops working at once), shown this once."""
    await posted(request, Body)  # only its CSRF token
    user_id, s = current_user_id(request), services(request)
    issued = await run_in_threadpool(
        agent_token.reissue, s.db, s.box, s.engine, user_id, s.settings.engine_public_url
    )
    return JSONResponse(issued, status_code=201)
