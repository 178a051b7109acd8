"""Reading, verifying, checkpointing and exporting an institution's ledger."""

from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from functions.engine import auth
from functions.http import int_query
from governance import audit
from kernel.errors import BadRequest
from ledger import store as ledger_store
from tenants.tenant import Tenant

CATEGORIES = {
    "rbac": ["proposal.denied", "approval.refused"],
    "approval": ["approval.", "proposal.pending_approval"],
    "execution": ["job."],
    "proposal": ["proposal."],
    "contract": ["contract."],
}
FORMATS = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
    "sqlite": "application/vnd.sqlite3",
}


async def events(request: Request) -> JSONResponse:
    query = request.query_params
    category = query.get("category")
    if category is not None and category not in CATEGORIES:
        raise BadRequest(f"category must be one of {', '.join(CATEGORIES)}", code="bad_query")
    types = [t for t in query.get("type", "").split(",") if t]
    limit = int_query(request, "limit", 200, 1, 5000)
    after_seq = int_query(request, "after_seq", 0, 0, 2**62)

    def work() -> list[dict[str, Any]]:
        tenant, _ = auth.human_or_admin(request)
        with tenant.db.reader() as reader:
            found = ledger_store.events(
                reader.conn,
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
    def work() -> dict[str, Any]:
        tenant, _ = auth.human_or_admin(request)
        return audit.verify(auth.context(request), tenant).to_dict()

    return JSONResponse(await run_in_threadpool(work))


async def create_checkpoint(request: Request) -> JSONResponse:
    def work() -> dict[str, Any]:
        tenant, _ = auth.human_or_admin(request)
        return audit.sign_checkpoint(auth.context(request), tenant)

    return JSONResponse(await run_in_threadpool(work), status_code=201)


async def latest_checkpoint(request: Request) -> JSONResponse:
    """Any credential of the institution, the agent's too: witnesses compare checkpoints."""

    def work() -> dict[str, Any]:
        tenant, _ = auth.actor_or_admin(request)
        return audit.latest_checkpoint(auth.context(request), tenant)

    return JSONResponse(await run_in_threadpool(work))


async def consistency(request: Request) -> JSONResponse:
    old = int_query(request, "from", 0, 0, 2**62)
    size = int_query(request, "to", 0, 0, 2**62)

    def work() -> dict[str, Any]:
        tenant, _ = auth.actor_or_admin(request)
        return audit.consistency(auth.context(request), tenant, old, size)

    return JSONResponse(await run_in_threadpool(work))


async def event_proof(request: Request) -> JSONResponse:
    seq = int_query(request, "seq", 0, 1, 2**62)

    def work() -> dict[str, Any]:
        tenant, _ = auth.human_or_admin(request)
        return audit.event_proof(auth.context(request), tenant, seq)

    proof = await run_in_threadpool(work)
    name = f"proof-{proof['event']['institution_id']}-{seq}.json"
    return JSONResponse(proof, headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def export(request: Request) -> Response:
    fmt = request.query_params.get("format", "jsonl")
    if fmt not in FORMATS:
        raise BadRequest("format must be jsonl, csv or sqlite", code="bad_query")

    def work() -> tuple[Tenant, Path, dict[str, Any]]:
        tenant, _ = auth.human_or_admin(request)
        path, signed = audit.export(auth.context(request), tenant, fmt)
        return tenant, path, signed

    tenant, path, signed = await run_in_threadpool(work)
    return FileResponse(
        path,
        media_type=FORMATS[fmt],
        filename=f"ledger-{tenant.institution_id}-{signed['seq']}{audit.EXPORT_SUFFIXES[fmt]}",
        headers={
            "X-Libervia-Public-Key": signed["public_key"],
            "X-Libervia-Checkpoint-Seq": str(signed["seq"]),
            "X-Libervia-Checkpoint-Head": signed["head_hash"],
            "X-Libervia-Checkpoint-Signature": signed["signature"],
        },
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
