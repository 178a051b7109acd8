"""What the engine proves about an institution's ledger: signed checkpoints (kept in the
registry too, outside the institution's file), verification against every checkpoint, exports
that verify offline, and Merkle proofs (one event in a tree; an older tree in a newer one)."""

import base64
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from pydantic import StrictInt, StrictStr, StringConstraints

from governance.context import EngineContext
from governance.records import Actor
from kernel.bodies import Body, parse
from kernel.errors import BadRequest, Conflict, NotFound
from ledger import audit as ledger_audit
from ledger import proof as proof_files
from ledger import store as ledger_store
from ledger.event import Event
from ledger.export import write_csv, write_jsonl, write_sqlite
from ledger.verify import VerifyResult
from tenants.database import Reader
from tenants.tenant import Tenant

EXPORT_SUFFIXES = {"jsonl": ".jsonl", "csv": ".csv", "sqlite": ".db"}


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def sign_checkpoint(ctx: EngineContext, tenant: Tenant) -> dict[str, Any]:
    """Sign the ledger as it stands (the existing checkpoint when already signed at this size)
    and keep the newest in the registry as well."""
    signed = tenant.db.write(
        lambda tx: ledger_store.sign_head(
            tx.conn, tenant.institution_id, ctx.signing_key, ctx.public_key
        )
    )
    ctx.registry.keep_checkpoint(tenant.institution_id, signed)
    return signed


def _kept(ctx: EngineContext, tenant: Tenant) -> list[dict[str, Any]]:
    kept = ctx.registry.kept_checkpoint(tenant.institution_id)
    return [kept] if kept else []


def _verified(ctx: EngineContext, tenant: Tenant, reader: Reader) -> VerifyResult:
    return ledger_audit.verify_signed(
        reader.conn,
        tenant.institution_id,
        ctx.signing_key.public_key(),
        path=tenant.db.path,
        kept=_kept(ctx, tenant),
    )


def verify(ctx: EngineContext, tenant: Tenant) -> VerifyResult:
    """The chain, and every signed checkpoint of it (in its file and kept in the registry)."""
    with tenant.db.snapshot() as snapshot:
        return _verified(ctx, tenant, snapshot)


def export(ctx: EngineContext, tenant: Tenant, fmt: str) -> tuple[Path, dict[str, Any]]:
    """Sign the head, then write exactly the events it covers, with every checkpoint up to it,
    from one read snapshot into a temporary file. A ledger that does not verify against its
    checkpoints is not exported. Writers go on meanwhile: a WAL reader never blocks them."""
    signed = sign_checkpoint(ctx, tenant)
    handle, name = tempfile.mkstemp(prefix="libervia-export-", suffix=EXPORT_SUFFIXES[fmt])
    path = Path(name)
    try:
        with tenant.db.snapshot() as snapshot:
            checked = _verified(ctx, tenant, snapshot)
            if not checked.ok:
                raise Conflict(
                    f"the ledger does not verify (seq {checked.first_bad_seq}: {checked.reason});"
                    " it is not exported",
                    code="ledger_does_not_verify",
                )
            conn, upto = snapshot.conn, signed["seq"]
            known = {c["seq"] for c in ledger_store.checkpoints(conn, upto)}
            extra = [c for c in _kept(ctx, tenant) if c["seq"] <= upto and c["seq"] not in known]
            if fmt == "sqlite":
                os.close(handle)
                path.unlink()
                write_sqlite(path, conn, signed, extra)
            else:
                with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                    if fmt == "jsonl":
                        write_jsonl(out, conn, tenant.institution_id, signed, extra)
                    else:
                        write_csv(out, conn, signed)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, signed


def latest_checkpoint(ctx: EngineContext, tenant: Tenant) -> dict[str, Any]:
    """The ledger signed as it stands now: what a witness compares with what it saw before."""
    signed = sign_checkpoint(ctx, tenant)
    return {"size": signed["seq"], "note": signed["note"], "signature": signed["signature"]}


def _sizes(reader: Reader, *sizes: int) -> int:
    events = ledger_store.head(reader.conn)[0]
    for size in sizes:
        if not 0 <= size <= events:
            raise BadRequest(f"tree size {size} is not within 0..{events}", code="bad_tree_size")
    return events


def consistency(ctx: EngineContext, tenant: Tenant, old: int, size: int) -> dict[str, Any]:
    """RFC 9162 consistency proof: the tree of `size` events extends the tree of `old`."""
    if old > size:
        raise BadRequest("'from' must not exceed 'to'", code="bad_tree_size")
    with tenant.db.snapshot() as snapshot:
        _sizes(snapshot, old, size)
        proof = ledger_store.consistency_proof(snapshot.conn, old, size) if 0 < old < size else []
    return {"from": old, "to": size, "proof": [b64(h) for h in proof]}


def event_proof(ctx: EngineContext, tenant: Tenant, seq: int) -> dict[str, Any]:
    """A self-contained proof of one event: the event, its inclusion proof in a signed tree,
    that checkpoint and the public key. It reveals no other event."""
    signed = sign_checkpoint(ctx, tenant)
    size = signed["seq"]
    with tenant.db.snapshot() as snapshot:
        if not 1 <= seq <= size:
            raise NotFound(f"no event {seq} in a ledger of {size}", code="event_not_found")
        row = next(ledger_store.rows(snapshot.conn, upto=seq, since=seq), None)
        if row is None:
            raise NotFound(f"no event {seq}", code="event_not_found")
        path = ledger_store.inclusion_proof(snapshot.conn, seq, size)
    return proof_files.proof_file(Event(*row), size, path, signed, signed["public_key"])


MAX_PROBLEM = 2000


class WitnessAlarm(Body):
    CODES = {"problem": "bad_problem", "seen_size": "bad_size", "shown_size": "bad_size"}
    problem: Annotated[
        StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PROBLEM)
    ]
    seen_size: StrictInt | None = None
    shown_size: StrictInt | None = None


def record_witness_alarm(tenant: Tenant, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """A witness (the agent, the console) says this ledger is not what it saw: recorded."""
    alarm = parse(WitnessAlarm, body)
    payload = {
        "problem": alarm.problem,
        "role": actor.role,
        "seen_size": alarm.seen_size,
        "shown_size": alarm.shown_size,
    }
    event = tenant.db.write(lambda tx: tx.record("witness.alarm", actor.id, payload))
    return {"recorded": True, "seq": event.seq}
