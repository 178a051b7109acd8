"""Actors propose actions; the engine decides against the released contract."""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from functions import logs
from functions.engine import auth
from functions.http import HTTPError, int_query, read_json
from governance.proposals import get_proposal, list_proposals, proposal_view, submit_proposal

STATUSES = {"authorized", "denied", "pending_approval", "approved", "rejected", "expired"}


async def submit(request: Request) -> JSONResponse:
    body = await read_json(request)

    def work():
        tenant, actor = auth.actor(request)
        return submit_proposal(auth.context(request), tenant, actor, body, logs.request_id())

    proposal = await run_in_threadpool(work)
    logs.bind_case(proposal["case_id"])
    return JSONResponse(proposal, status_code=201)


async def index(request: Request) -> JSONResponse:
    status = request.query_params.get("status")
    if status is not None and status not in STATUSES:
        raise HTTPError(400, "bad_query", f"status must be one of {', '.join(sorted(STATUSES))}")
    limit = int_query(request, "limit", 100, 1, 1000)

    def work():
        tenant, _ = auth.human_or_admin(request)
        return list_proposals(tenant, status, limit)

    return JSONResponse({"proposals": await run_in_threadpool(work)})


async def show(request: Request) -> JSONResponse:
    def work():
        tenant, _ = auth.actor_or_admin(request)
        with tenant.db.reader() as reader:
            return proposal_view(get_proposal(reader, request.path_params["proposal_id"]))

    return JSONResponse(await run_in_threadpool(work))
