import shutil
from typing import Any

from governance.context import EngineContext
from governance.records import Actor
from governance.tokens import hash_secret, new_secret, secrets_equal
from kernel.errors import Conflict, Forbidden, NotFound, Unauthorized
from kernel.ids import new_id
from kernel.times import utc_now
from tenants import InstitutionMissing, InstitutionUnavailable
from tenants.database import Reader, Tx
from tenants.layout import new_institution_id
from tenants.registry import Institution
from tenants.tenant import Tenant

# Role -> is an agent. An auditor is a person who reads the records; no contract lets them
# propose or approve.
ROLES = {
    "owner": False,
    "executive_admin": False,
    "auditor": False,
    "organizational_agent": True,
}


def _institution_view(institution: Institution, tenant: Tenant) -> dict[str, Any]:
    return {
        "institution_id": institution.id,
        "external_id": institution.external_id,
        "name": institution.name,
        "created_at": institution.created_at,
        "admin_key_bootstrapped": tenant.db.meta("admin_key_hash") is not None,
    }


def create_institution(ctx: EngineContext, external_id: str, name: str) -> tuple[dict, bool]:
    """Idempotent by external id. The institution's file (with its `institution.created`
    event) exists before the registry names it."""
    existing = ctx.registry.find(external_id)
    if existing is not None:
        return _institution_view(existing, tenant_for(ctx, existing.id)), False
    institution_id = new_institution_id()

    def first(tx: Tx) -> None:
        tx.record(
            "institution.created", "platform_admin", {"external_id": external_id, "name": name}
        )

    tenant = ctx.tenants.create(institution_id, first)
    institution = ctx.registry.add(institution_id, external_id, name)
    if institution.id != institution_id:  # a concurrent request registered it first
        ctx.tenants.discard(institution_id)
        shutil.rmtree(tenant.directory, ignore_errors=True)
        return _institution_view(institution, tenant_for(ctx, institution.id)), False
    return _institution_view(institution, tenant), True


def tenant_for(ctx: EngineContext, institution_id: str) -> Tenant:
    """The institution's storage; 404 for an unknown id, 503 for a known one whose file is
    missing or unusable (InstitutionUnavailable goes through)."""
    try:
        return ctx.tenants.get(institution_id)
    except InstitutionMissing as exc:
        if ctx.registry.get(institution_id) is not None:
            raise InstitutionUnavailable(institution_id, "its database file is missing") from exc
        raise NotFound(f"no institution {institution_id}", code="institution_not_found") from exc


def bootstrap_admin_key(ctx: EngineContext, institution_id: str) -> str:
    """Returns the admin key once; the engine keeps only its hash."""
    tenant = tenant_for(ctx, institution_id)
    key = new_secret("lak")

    def store(tx: Tx) -> None:
        if tx.meta("admin_key_hash") is not None:
            raise Conflict(
                "admin key already bootstrapped; it is shown only once", code="admin_key_exists"
            )
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('admin_key_hash', ?)", (hash_secret(key),)
        )
        tx.record("institution.admin_key_bootstrapped", "platform_admin", {})

    tenant.db.write(store)
    return key


def authenticate_admin(ctx: EngineContext, institution_id: str, key: str | None) -> Tenant:
    tenant = tenant_for(ctx, institution_id)
    expected = tenant.db.meta("admin_key_hash")
    if not key or expected is None or not secrets_equal(hash_secret(key), expected):
        raise Unauthorized("a valid institution admin key is required", code="bad_admin_key")
    return tenant


def identify(reader: Reader, token: str | None) -> Actor:
    """The actor a token belongs to (inside a write, the same transaction decides)."""
    if not token:
        raise Unauthorized("an actor token is required", code="missing_token")
    actor = reader.one(
        "SELECT id, name, role, is_agent, last_seen_at, agent_version, revoked_at FROM actors"
        " WHERE token_hash=?",
        (hash_secret(token),),
    )
    if actor is None:
        raise Unauthorized("actor token is not valid for this institution", code="bad_token")
    if actor.pop("revoked_at") is not None:
        raise Unauthorized("this actor was revoked", code="actor_revoked")
    return Actor(**{**actor, "is_agent": bool(actor["is_agent"])})


def authenticate_actor(
    ctx: EngineContext, institution_id: str, token: str | None
) -> tuple[Tenant, Actor]:
    tenant = tenant_for(ctx, institution_id)
    with tenant.db.reader() as reader:
        return tenant, identify(reader, token)


def create_actor(tenant: Tenant, name: str, role: str) -> dict[str, Any]:
    if role not in ROLES:
        raise Forbidden(f"unknown role {role!r}; roles: {', '.join(ROLES)}", code="unknown_role")
    token = new_secret("lat")
    actor = {
        "actor_id": new_id("act"),
        "name": name,
        "role": role,
        "is_agent": ROLES[role],
        "created_at": utc_now(),
    }

    def store(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO actors (id, name, role, is_agent, token_hash, created_at)"
            " VALUES (?,?,?,?,?,?)",
            (
                actor["actor_id"],
                name,
                role,
                1 if actor["is_agent"] else 0,
                hash_secret(token),
                actor["created_at"],
            ),
        )
        tx.record("actor.created", "institution_admin", dict(actor))

    tenant.db.write(store)
    return {**actor, "token": token}


def _live_actor(tx: Tx, actor_id: str) -> dict[str, Any]:
    actor = tx.one("SELECT id, role, revoked_at FROM actors WHERE id=?", (actor_id,))
    if actor is None:
        raise NotFound(f"no actor {actor_id}", code="actor_not_found")
    if actor["revoked_at"] is not None:
        raise Conflict(f"actor {actor_id} was revoked at {actor['revoked_at']}", code="revoked")
    return actor


def _change_live_actor(
    tenant: Tenant, actor_id: str, column: str, value: str, event: str, reason: str
) -> None:
    """Set one column of a live actor and record why, in one transaction."""

    def store(tx: Tx) -> None:
        actor = _live_actor(tx, actor_id)
        tx.execute(f"UPDATE actors SET {column}=? WHERE id=?", (value, actor_id))
        tx.record(
            event,
            "institution_admin",
            {"actor_id": actor_id, "role": actor["role"], "reason": reason},
        )

    tenant.db.write(store)


def revoke_actor(tenant: Tenant, actor_id: str, reason: str) -> dict[str, Any]:
    """The actor's token opens nothing from now on (a removed person, a lost laptop)."""
    revoked_at = utc_now()
    _change_live_actor(tenant, actor_id, "revoked_at", revoked_at, "actor.revoked", reason)
    return {"actor_id": actor_id, "revoked_at": revoked_at}


def reissue_token(tenant: Tenant, actor_id: str, reason: str) -> dict[str, Any]:
    """A new token for the actor; the old one gets 401 from the same commit on."""
    token = new_secret("lat")
    _change_live_actor(
        tenant, actor_id, "token_hash", hash_secret(token), "actor.token_reissued", reason
    )
    return {"actor_id": actor_id, "token": token}


def list_actors(tenant: Tenant) -> list[dict]:
    rows = tenant.db.all(
        "SELECT id AS actor_id, name, role, is_agent, created_at, last_seen_at, revoked_at,"
        " agent_version FROM actors ORDER BY created_at"
    )
    for row in rows:
        row["is_agent"] = bool(row["is_agent"])
    return rows
