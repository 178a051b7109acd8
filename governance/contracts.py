from typing import Any

from governance import BadRequest, Conflict, NotFound
from governance.context import EngineContext
from idl import IDLError
from idl.compiler import (
    CompiledBundle,
    bundle_signature_message,
    compile_source,
    contract_from_manifest,
)
from idl.model import Contract
from ledger.canonical import canonical_json
from ledger.signing import sign
from ledger.store import utc_now
from tenants.tenant import Tenant

MAX_SOURCE_BYTES = 256 * 1024


def _compile(source: str) -> CompiledBundle:
    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise BadRequest(f"contract source exceeds {MAX_SOURCE_BYTES} bytes", code="idl_too_large")
    try:
        return compile_source(source)
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


def register_bundle(tenant: Tenant, source: str) -> tuple[dict[str, Any], bool]:
    """Validate and store a contract source. Same name+version with the same meaning is a no-op;
    with a different meaning it is refused: a version never changes once registered."""
    bundle = _compile(source)
    header = bundle.contract.contract
    with tenant.store.write() as conn:
        existing = conn.execute(
            "SELECT * FROM bundles WHERE name=? AND version=?", (header.name, header.version)
        ).fetchone()
        if existing:
            if existing["manifest_sha256"] != bundle.manifest_sha256:
                raise Conflict(
                    f"{bundle.ref} is already registered with a different manifest; "
                    "publish a new version instead",
                    code="bundle_version_exists",
                )
            return _public(existing), False
        conn.execute(
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
        row = conn.execute(
            "SELECT * FROM bundles WHERE name=? AND version=?", (header.name, header.version)
        ).fetchone()
    tenant.ledger.append(
        "contract.registered",
        "institution_admin",
        {"ref": bundle.ref, "manifest_sha256": bundle.manifest_sha256},
    )
    return _public(row), True


def release_bundle(ctx: EngineContext, tenant: Tenant, name: str, version: str) -> dict[str, Any]:
    """Recompile the stored source, check its hash, sign it, and make it the active contract."""
    row = tenant.store.one("SELECT * FROM bundles WHERE name=? AND version=?", (name, version))
    if row is None:
        raise NotFound(f"no registered bundle {name}@v{version}", code="bundle_not_found")
    bundle = _compile(row["source"])
    if bundle.manifest_sha256 != row["manifest_sha256"]:
        raise Conflict("stored bundle no longer compiles to its manifest", code="bundle_corrupt")
    if row["released_at"] and tenant.store.get_meta("active_contract") == bundle.ref:
        return _public(row)
    signature = sign(
        ctx.signing_key, bundle_signature_message(name, version, row["manifest_sha256"])
    )
    released_at = utc_now()
    with tenant.store.write() as conn:
        conn.execute(
            "UPDATE bundles SET signature=?, released_at=? WHERE name=? AND version=?",
            (signature, released_at, name, version),
        )
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('active_contract', ?)"
            " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (bundle.ref,),
        )
    tenant.ledger.append(
        "contract.released",
        "institution_admin",
        {"ref": bundle.ref, "manifest_sha256": bundle.manifest_sha256, "signature": signature},
    )
    return _public({**row, "signature": signature, "released_at": released_at})


def active_contract(tenant: Tenant) -> tuple[Contract, str] | None:
    """The released contract proposals are judged against, with its manifest hash."""
    ref = tenant.store.get_meta("active_contract")
    if ref is None:
        return None
    name, version = ref.split("@v")
    row = tenant.store.one(
        "SELECT manifest, manifest_sha256 FROM bundles WHERE name=? AND version=?", (name, version)
    )
    return contract_from_manifest(row["manifest"]), row["manifest_sha256"]


def describe_active(tenant: Tenant) -> dict[str, Any]:
    ref = tenant.store.get_meta("active_contract")
    if ref is None:
        raise NotFound("no contract has been released", code="no_released_contract")
    name, version = ref.split("@v")
    row = tenant.store.one("SELECT * FROM bundles WHERE name=? AND version=?", (name, version))
    return {**_public(row), "manifest": row["manifest"], "source": row["source"]}


def list_bundles(tenant: Tenant) -> list[dict[str, Any]]:
    return [
        _public(row) for row in tenant.store.all("SELECT * FROM bundles ORDER BY registered_at")
    ]
