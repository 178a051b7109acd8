from typing import Any

from governance import Conflict, Forbidden, NotFound, Unauthorized
from governance.context import EngineContext
from governance.tokens import hash_secret, new_id, new_secret, secrets_equal
from ledger.store import utc_now
from tenants import TenantError
from tenants.tenant import Tenant

ROLES = {"owner": False, "executive_admin": False, "organizational_agent": True}


def create_institution(ctx: EngineContext, external_id: str, name: str) -> tuple[dict, bool]:
    institution, created = ctx.registry.create_or_get(external_id, name)
    tenant = ctx.tenants.create(institution.id)
    if created:
        tenant.ledger.append(
            "institution.created", "platform_admin", {"external_id": external_id, "name": name}
        )
    return {
        "institution_id": institution.id,
        "external_id": institution.external_id,
        "name": institution.name,
        "created_at": institution.created_at,
        "admin_key_bootstrapped": tenant.store.get_meta("admin_key_hash") is not None,
    }, created


def tenant_for(ctx: EngineContext, institution_id: str) -> Tenant:
    try:
        return ctx.tenants.get(institution_id)
    except TenantError as exc:
        raise NotFound(f"no institution {institution_id}", code="institution_not_found") from exc


def bootstrap_admin_key(ctx: EngineContext, institution_id: str) -> str:
    """Returns the admin key once; the engine keeps only its hash."""
    tenant = tenant_for(ctx, institution_id)
    key = new_secret("lak")
    with tenant.store.write() as conn:
        existing = conn.execute("SELECT value FROM meta WHERE key='admin_key_hash'").fetchone()
        if existing:
            raise Conflict(
                "admin key already bootstrapped; it is shown only once",
                code="admin_key_exists",
            )
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('admin_key_hash', ?)", (hash_secret(key),)
        )
    tenant.ledger.append("institution.admin_key_bootstrapped", "platform_admin", {})
    return key


def authenticate_admin(ctx: EngineContext, institution_id: str, key: str | None) -> Tenant:
    tenant = tenant_for(ctx, institution_id)
    expected = tenant.store.get_meta("admin_key_hash")
    if not key or expected is None or not secrets_equal(hash_secret(key), expected):
        raise Unauthorized("a valid institution admin key is required", code="bad_admin_key")
    return tenant


def authenticate_actor(
    ctx: EngineContext, institution_id: str, token: str | None
) -> tuple[Tenant, dict]:
    tenant = tenant_for(ctx, institution_id)
    if not token:
        raise Unauthorized("an actor token is required", code="missing_token")
    actor = tenant.store.one(
        "SELECT id, name, role, is_agent, last_seen_at FROM actors WHERE token_hash=?",
        (hash_secret(token),),
    )
    if actor is None:
        raise Unauthorized("actor token is not valid for this institution", code="bad_token")
    actor["is_agent"] = bool(actor["is_agent"])
    return tenant, actor


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
    with tenant.store.write() as conn:
        conn.execute(
            "INSERT INTO actors (id, name, role, is_agent, token_hash, created_at)"
            " VALUES (?,?,?,?,?,?)",
            (
                actor["actor_id"],
                name,
                role,
                int(actor["is_agent"]),
                hash_secret(token),
                actor["created_at"],
            ),
        )
    tenant.ledger.append("actor.created", "institution_admin", dict(actor))
    return {**actor, "token": token}


def list_actors(tenant: Tenant) -> list[dict]:
    rows = tenant.store.all(
        "SELECT id AS actor_id, name, role, is_agent, created_at, last_seen_at FROM actors"
        " ORDER BY created_at"
    )
    for row in rows:
        row["is_agent"] = bool(row["is_agent"])
    return rows
