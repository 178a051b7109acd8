"""Reading, verifying, checkpointing and exporting an institution's ledger."""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from functions.engine import auth
from functions.http import HTTPError, int_query
from governance.context import EngineContext
from ledger.export import export_csv, export_jsonl, export_sqlite
from ledger.signing import checkpoint_message, sign
from tenants.tenant import Tenant

CATEGORIES = {
    "rbac": ["proposal.denied", "approval.refused"],
    "approval": ["approval.", "proposal.pending_approval"],
    "execution": ["job."],
    "proposal": ["proposal."],
    "contract": ["contract."],
}


def checkpoint(ctx: EngineContext, tenant: Tenant) -> dict:
    """Sign the current head with the engine's key (no-op when it is already signed)."""
    seq, head = tenant.ledger.head()
    existing = [c for c in tenant.ledger.checkpoints() if c["seq"] == seq]
    if existing:
        return existing[0]
    signature = sign(ctx.signing_key, checkpoint_message(tenant.institution_id, seq, head))
    return tenant.ledger.add_checkpoint(seq, head, signature, ctx.public_key)


async def events(request: Request) -> JSONResponse:
    query = request.query_params
    category = query.get("category")
    if category is not None and category not in CATEGORIES:
        raise HTTPError(400, "bad_query", f"category must be one of {', '.join(CATEGORIES)}")
    types = [t for t in query.get("type", "").split(",") if t]
    limit = int_query(request, "limit", 200, 1, 5000)
    after_seq = int_query(request, "after_seq", 0, 0, 2**62)

    def work():
        tenant, _ = auth.human_or_admin(request)
        found = tenant.ledger.events(
            types=types or None,
            type_prefixes=CATEGORIES.get(category or ""),
            case_id=query.get("case_id"),
            since=query.get("since"),
            until=query.get("until"),
            after_seq=after_seq,
            limit=limit,
            descending=query.get("order") == "desc",
        )
        return [event.to_dict() for event in found]

    return JSONResponse({"events": await run_in_threadpool(work)})


async def verify(request: Request) -> JSONResponse:
    def work():
        tenant, _ = auth.human_or_admin(request)
        return tenant.ledger.verify().to_dict()

    return JSONResponse(await run_in_threadpool(work))


async def create_checkpoint(request: Request) -> JSONResponse:
    def work():
        tenant, _ = auth.human_or_admin(request)
        return checkpoint(auth.context(request), tenant)

    return JSONResponse(await run_in_threadpool(work), status_code=201)


async def export(request: Request) -> Response:
    fmt = request.query_params.get("format", "jsonl")
    if fmt not in ("jsonl", "csv", "sqlite"):
        raise HTTPError(400, "bad_query", "format must be jsonl, csv or sqlite")

    def work():
        tenant, _ = auth.human_or_admin(request)
        return tenant, checkpoint(auth.context(request), tenant)

    tenant, signed = await run_in_threadpool(work)
    name = f"ledger-{tenant.institution_id}-{signed['seq']}"
    headers = {
        "X-Libervia-Public-Key": signed["public_key"],
        "X-Libervia-Checkpoint-Seq": str(signed["seq"]),
    }
    if fmt == "sqlite":
        data = await run_in_threadpool(export_sqlite, tenant.ledger)
        headers["Content-Disposition"] = f'attachment; filename="{name}.db"'
        return Response(data, media_type="application/vnd.sqlite3", headers=headers)
    lines = (
        export_jsonl(tenant.ledger, signed) if fmt == "jsonl" else export_csv(tenant.ledger, signed)
    )
    headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
    return StreamingResponse(iterate_in_thread(lines), media_type=media, headers=headers)


async def iterate_in_thread(lines):
    iterator = iter(lines)
    sentinel = object()
    while (chunk := await run_in_threadpool(next, iterator, sentinel)) is not sentinel:
        yield chunk
