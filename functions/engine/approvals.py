"""Humans approve or reject pending destructive proposals."""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from functions import logs
from functions.engine import auth
from functions.http import int_query, read_json
from governance.approvals import approve, list_pending, reject


def pending(request: Request) -> JSONResponse:
    limit = int_query(request, "limit", 100, 1, 1000)
    tenant, _ = auth.human_or_admin(request)
    return JSONResponse({"pending": [p.view() for p in list_pending(tenant, limit)]})


async def approve_one(request: Request) -> JSONResponse:
    body = await read_json(request)

    def work():
        tenant, actor = auth.actor(request)
        return approve(
            auth.context(request),
            tenant,
            actor,
            request.path_params["proposal_id"],
            body,
            logs.request_id(),
        )

    proposal = await run_in_threadpool(work)
    logs.bind_case(proposal.case_id)
    return JSONResponse(proposal.view())


async def reject_one(request: Request) -> JSONResponse:
    body = await read_json(request)

    def work():
        tenant, actor = auth.actor(request)
        return reject(tenant, actor, request.path_params["proposal_id"], body)

    return JSONResponse((await run_in_threadpool(work)).view())
