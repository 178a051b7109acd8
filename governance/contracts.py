import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from governance.context import EngineContext
from governance.records import Actor
from governance.tokens import secrets_equal
from idl import IDLError
from idl.compiler import (
    CompiledBundle,
    bundle_signature_message,
    compile_source,
    contract_from_manifest,
)
from idl.model import Contract
from kernel.canonical import canonical_json
from kernel.errors import BadRequest, Conflict, Forbidden, NotFound
from kernel.times import utc_now
from ledger.signing import sign
from tenants.database import Reader, Tx
from tenants.tenant import Tenant

MAX_SOURCE_BYTES = 256 * 1024
_CACHE_SIZE = 128


class _Cache:
    """A small bounded map for deterministic work (compiling a source, parsing a manifest):
    the same input always gives the same output, so it is computed once per process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        return self._items.get(key)

    def put(self, key: str, value: Any) -> Any:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = value
        return value


_compiled = _Cache(_CACHE_SIZE)
_contracts = _Cache(_CACHE_SIZE)


def _compile(source: str) -> CompiledBundle:
    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise BadRequest(f"contract source exceeds {MAX_SOURCE_BYTES} bytes", code="idl_too_large")
    key = hashlib.sha256(source.encode()).hexdigest()
    if (bundle := _compiled.get(key)) is not None:
        return bundle
    try:
        return _compiled.put(key, compile_source(source))
    except IDLError as exc:
        raise BadRequest(str(exc), code="idl_invalid") from exc


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "version": row["version"],
        "ref": f"{row['name']}@v{row['version']}",
        "manifest_sha256": row["manifest_sha256"],
        "source_sha256": row["source_sha256"],
        "signature": row["signature"],
        "registered_at": row["registered_at"],
        "released_at": row["released_at"],
        "status": "released" if row["released_at"] else "registered",
    }


def _bundle(reader: Reader, name: str, version: str) -> dict[str, Any] | None:
    return reader.one("SELECT * FROM bundles WHERE name=? AND version=?", (name, version))


def register_bundle(tenant: Tenant, source: str) -> tuple[dict[str, Any], bool]:
    """Validate and store a contract source. Same name+version with the same meaning is a no-op;
    with a different meaning it is refused: a version never changes once registered."""
    bundle = _compile(source)
    header = bundle.contract.contract

    def store(tx: Tx) -> tuple[dict[str, Any], bool]:
        existing = _bundle(tx, header.name, header.version)
        if existing:
            if existing["manifest_sha256"] != bundle.manifest_sha256:
                raise Conflict(
                    f"{bundle.ref} is already registered with a different manifest; "
                    "publish a new version instead",
                    code="bundle_version_exists",
                )
            return _public(existing), False
        tx.execute(
            "INSERT INTO bundles (name, version, source, source_sha256, manifest, manifest_sha256,"
            " registered_at) VALUES (?,?,?,?,?,?,?)",
            (
                header.name,
                header.version,
                source,
                bundle.source_sha256,
                canonical_json(bundle.manifest).decode(),
                bundle.manifest_sha256,
                utc_now(),
            ),
        )
        tx.record(
            "contract.registered",
            "institution_admin",
            {"ref": bundle.ref, "manifest_sha256": bundle.manifest_sha256},
        )
        return _public(_bundle(tx, header.name, header.version) or {}), True

    return tenant.db.write(store)


def release_bundle(
    ctx: EngineContext,
    tenant: Tenant,
    name: str,
    version: str,
    approver: Actor | None = None,
    approved_manifest: Any = None,
) -> dict[str, Any]:
    """Recompile the stored source, check its hash, sign it, and make it the active contract.
    The first contract is released by the institution admin; moving to another version while
    one is in force takes the owner's approval of exactly that manifest (`approver`)."""
    if approver is not None and approver.role != "owner":
        raise Forbidden(
            "only the owner approves a new contract version", code="owner_approval_required"
        )
    row = tenant.db.one("SELECT * FROM bundles WHERE name=? AND version=?", (name, version))
    if row is None:
        raise NotFound(f"no registered bundle {name}@v{version}", code="bundle_not_found")
    bundle = _compile(row["source"])
    if bundle.manifest_sha256 != row["manifest_sha256"]:
        raise Conflict("stored bundle no longer compiles to its manifest", code="bundle_corrupt")
    signature = sign(
        ctx.signing_key, bundle_signature_message(name, version, row["manifest_sha256"])
    )

    def release(tx: Tx) -> dict[str, Any]:
        current = _bundle(tx, name, version) or row
        in_force = tx.meta("active_contract")
        if current["released_at"] and in_force == bundle.ref:
            return _public(current)
        if in_force is not None and approver is None:
            raise Conflict(
                f"{in_force} is in force: moving to {bundle.ref} takes the owner's approval"
                " (the owner posts this release with its manifest_sha256)",
                code="owner_approval_required",
            )
        if approver is not None:
            if not isinstance(approved_manifest, str) or not secrets_equal(
                approved_manifest, row["manifest_sha256"]
            ):
                raise Conflict(
                    f"manifest_sha256 does not match {bundle.ref}; review it again",
                    code="manifest_mismatch",
                )
            tx.record(
                "contract.release_approved",
                approver.id,
                {"ref": bundle.ref, "manifest_sha256": row["manifest_sha256"], "from": in_force},
            )
        released_at = utc_now()
        tx.execute(
            "UPDATE bundles SET signature=?, released_at=? WHERE name=? AND version=?",
            (signature, released_at, name, version),
        )
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('active_contract', ?)"
            " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (bundle.ref,),
        )
        tx.record(
            "contract.released",
            approver.id if approver else "institution_admin",
            {"ref": bundle.ref, "manifest_sha256": bundle.manifest_sha256, "signature": signature},
        )
        return _public({**current, "signature": signature, "released_at": released_at})

    return tenant.db.write(release)


@dataclass(frozen=True)
class Released:
    """The contract in force, as compiled, and the sha256 of its manifest."""

    contract: Contract
    manifest_sha256: str


def active_contract(reader: Reader) -> Released | None:
    """The released contract proposals are judged against, with its manifest hash."""
    found = reader.conn.execute(
        "SELECT b.manifest_sha256, b.name, b.version FROM meta m JOIN bundles b"
        " ON m.value = b.name || '@v' || b.version WHERE m.key = 'active_contract'"
    ).fetchone()
    if found is None:
        return None
    manifest_sha256, name, version = found
    ref = f"{name}@v{version}"
    contract = _contracts.get(manifest_sha256)
    if contract is None:
        manifest = (_bundle(reader, name, version) or {})["manifest"]
        if hashlib.sha256(canonical_json(manifest)).hexdigest() != manifest_sha256:
            raise Conflict(
                f"the stored manifest of {ref} does not match its sha256", code="bundle_corrupt"
            )
        contract = _contracts.put(manifest_sha256, contract_from_manifest(manifest))
    return Released(contract, manifest_sha256)


def describe_active(tenant: Tenant) -> dict[str, Any]:
    ref = tenant.db.meta("active_contract")
    if ref is None:
        raise NotFound("no contract has been released", code="no_released_contract")
    name, version = ref.split("@v")
    row = tenant.db.one("SELECT * FROM bundles WHERE name=? AND version=?", (name, version)) or {}
    return {**_public(row), "manifest": row["manifest"], "source": row["source"]}


def list_bundles(tenant: Tenant) -> list[dict[str, Any]]:
    return [_public(row) for row in tenant.db.all("SELECT * FROM bundles ORDER BY registered_at")]
