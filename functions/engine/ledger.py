"""Reading, verifying, checkpointing and exporting an institution's ledger."""

import os
import tempfile
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from functions.engine import auth
from functions.http import HTTPError, int_query
from governance.context import EngineContext
from ledger import store as ledger_store
from ledger.export import write_csv, write_jsonl, write_sqlite
from tenants.tenant import Tenant

CATEGORIES = {
    "rbac": ["proposal.denied", "approval.refused"],
    "approval": ["approval.", "proposal.pending_approval"],
    "execution": ["job."],
    "proposal": ["proposal."],
    "contract": ["contract."],
}
FORMATS = {
    "jsonl": ("application/x-ndjson", ".jsonl"),
    "csv": ("text/csv", ".csv"),
    "sqlite": ("application/vnd.sqlite3", ".db"),
}


def checkpoint(ctx: EngineContext, tenant: Tenant) -> dict[str, Any]:
    """Sign the current head with the engine's key (the existing one when already signed)."""

    return tenant.db.write(
        lambda tx: ledger_store.sign_head(
            tx.conn, tenant.institution_id, ctx.signing_key, ctx.public_key
        )
    )


def export_file(ctx: EngineContext, tenant: Tenant, fmt: str) -> tuple[Path, dict[str, Any]]:
    """Sign the head, then write exactly the events it covers from one read snapshot into a
    temporary file. Writers go on meanwhile: a WAL reader never blocks them."""
    signed = checkpoint(ctx, tenant)
    handle, name = tempfile.mkstemp(prefix="libervia-export-", suffix=FORMATS[fmt][1])
    path = Path(name)
    try:
        with tenant.db.snapshot() as snapshot:
            if fmt == "sqlite":
                os.close(handle)
                path.unlink()
                write_sqlite(path, snapshot.conn, signed)
            else:
                with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                    if fmt == "jsonl":
                        write_jsonl(out, snapshot.conn, tenant.institution_id, signed)
                    else:
                        write_csv(out, snapshot.conn, signed)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, signed


async def events(request: Request) -> JSONResponse:
    query = request.query_params
    category = query.get("category")
    if category is not None and category not in CATEGORIES:
        raise HTTPError(400, "bad_query", f"category must be one of {', '.join(CATEGORIES)}")
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
        with tenant.db.snapshot() as snapshot:
            result = ledger_store.verify(snapshot.conn, tenant.db.path, tenant.institution_id)
            return result.to_dict()

    return JSONResponse(await run_in_threadpool(work))


async def create_checkpoint(request: Request) -> JSONResponse:
    def work() -> dict[str, Any]:
        tenant, _ = auth.human_or_admin(request)
        return checkpoint(auth.context(request), tenant)

    return JSONResponse(await run_in_threadpool(work), status_code=201)


async def export(request: Request) -> Response:
    fmt = request.query_params.get("format", "jsonl")
    if fmt not in FORMATS:
        raise HTTPError(400, "bad_query", "format must be jsonl, csv or sqlite")

    def work() -> tuple[Tenant, Path, dict[str, Any]]:
        tenant, _ = auth.human_or_admin(request)
        path, signed = export_file(auth.context(request), tenant, fmt)
        return tenant, path, signed

    tenant, path, signed = await run_in_threadpool(work)
    media_type, suffix = FORMATS[fmt]
    return FileResponse(
        path,
        media_type=media_type,
        filename=f"ledger-{tenant.institution_id}-{signed['seq']}{suffix}",
        headers={
            "X-Libervia-Public-Key": signed["public_key"],
            "X-Libervia-Checkpoint-Seq": str(signed["seq"]),
            "X-Libervia-Checkpoint-Head": signed["head_hash"],
            "X-Libervia-Checkpoint-Signature": signed["signature"],
        },
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
