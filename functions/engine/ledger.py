"""Reading, verifying, checkpointing and exporting an institution's ledger."""

from datetime import datetime

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from functions.engine import auth
from functions.http import int_query
from governance import audit
from kernel.errors import BadRequest
from ledger import store as ledger_store

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


def events(request: Request) -> JSONResponse:
    query = request.query_params
    category = query.get("category")
    if category is not None and category not in CATEGORIES:
        raise BadRequest(f"category must be one of {', '.join(CATEGORIES)}", code="bad_query")
    types = [t for t in query.get("type", "").split(",") if t]
    limit = int_query(request, "limit", 200, 1, 5000)
    since, until = _moment(request, "since"), _moment(request, "until")
    after_seq = int_query(request, "after_seq", 0, 0, 2**62)

    tenant, _ = auth.human_or_admin(request)
    with tenant.db.reader() as reader:
        found = ledger_store.events(
            reader.conn,
            types=types or None,
            type_prefixes=CATEGORIES.get(category or ""),
            case_id=query.get("case_id"),
            since=since,
            until=until,
            after_seq=after_seq,
            limit=limit,
            descending=query.get("order") == "desc",
        )
    return JSONResponse({"events": [event.to_dict() for event in found]})


def _moment(request: Request, name: str) -> str | None:
    """A time bound as the ledger writes its times (ISO 8601), compared as written."""
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(
            f"query parameter {name!r} must be an ISO 8601 time", code="bad_query"
        ) from exc
    return value


def verify(request: Request) -> JSONResponse:
    tenant, _ = auth.human_or_admin(request)
    return JSONResponse(audit.verify(auth.context(request), tenant).to_dict())


def create_checkpoint(request: Request) -> JSONResponse:
    tenant, _ = auth.human_or_admin(request)
    return JSONResponse(audit.sign_checkpoint(auth.context(request), tenant), status_code=201)


def latest_checkpoint(request: Request) -> JSONResponse:
    """Any credential of the institution, the agent's too: witnesses compare checkpoints."""
    tenant, _ = auth.actor_or_admin(request)
    return JSONResponse(audit.latest_checkpoint(auth.context(request), tenant))


def consistency(request: Request) -> JSONResponse:
    old = int_query(request, "from", 0, 0, 2**62)
    size = int_query(request, "to", 0, 0, 2**62)
    tenant, _ = auth.actor_or_admin(request)
    return JSONResponse(audit.consistency(auth.context(request), tenant, old, size))


def event_proof(request: Request) -> JSONResponse:
    seq = int_query(request, "seq", None, 1, 2**62)
    tenant, _ = auth.human_or_admin(request)
    proof = audit.event_proof(auth.context(request), tenant, seq)
    name = f"proof-{proof['event']['institution_id']}-{seq}.json"
    return JSONResponse(proof, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def export(request: Request) -> Response:
    fmt = request.query_params.get("format", "jsonl")
    if fmt not in FORMATS:
        raise BadRequest("format must be jsonl, csv or sqlite", code="bad_query")

    tenant, _ = auth.human_or_admin(request)
    path, signed = audit.export(auth.context(request), tenant, fmt)
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
