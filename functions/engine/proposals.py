"""Actors propose actions; the engine decides against the released contract."""

from starlette.requests import Request
from starlette.responses import JSONResponse

from functions import logs
from functions.engine import auth
from functions.hardening import REQUESTER_HEADER
from functions.http import bearer_token, int_query, read_json
from governance.institutions import identify
from governance.proposals import (
    decide,
    get_proposal,
    list_proposals,
    parse_submission,
)
from governance.records import Actor
from kernel.errors import BadRequest, Forbidden
from tenants.database import Reader

STATUSES = {"authorized", "denied", "pending_approval", "approved", "rejected", "expired"}


def _requester(reader: Reader, token: str | None) -> Actor | None:
    """The person who asked for the proposal, by their own token: a person, never an agent."""
    if token is None:
        return None
    person = identify(reader, token)
    if person.is_agent:
        raise Forbidden("a requester is a person, not an agent", code="requester_not_a_person")
    return person


async def submit(request: Request) -> JSONResponse:
    body = await read_json(request)
    tenant, token, request_id = await auth.tenant(request), bearer_token(request), logs.request_id()
    asked_by = request.headers.get(REQUESTER_HEADER)
    proposal, job_created = await tenant.db.write_async(
        # Authenticated twice: by a plain read first (a stranger never takes the write lock),
        # then inside the transaction that decides (the token is still good at that moment).
        lambda tx: decide(
            tx, identify(tx, token), parse_submission(body), request_id, _requester(tx, asked_by)
        ),
        check=lambda reader: (identify(reader, token), _requester(reader, asked_by)),
    )
    if job_created:
        auth.context(request).notifier.notify(tenant.institution_id)
    logs.bind_case(proposal.case_id)
    return JSONResponse(proposal.view(), status_code=201)


def index(request: Request) -> JSONResponse:
    status = request.query_params.get("status")
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(sorted(STATUSES))}", code="bad_query")
    limit = int_query(request, "limit", 100, 1, 1000)

    tenant, _ = auth.human_or_admin(request)
    return JSONResponse({"proposals": [p.view() for p in list_proposals(tenant, status, limit)]})


def show(request: Request) -> JSONResponse:
    tenant, _ = auth.actor_or_admin(request)
    with tenant.db.reader() as reader:
        return JSONResponse(get_proposal(reader, request.path_params["proposal_id"]).view())
