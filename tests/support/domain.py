"""The Engine's domain in process (no HTTP, no port): an institution on a real data dir under
pytest's tmp_path, set up through the same governance functions the handlers call."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from governance.context import EngineContext
from governance.contracts import register_bundle, release_bundle
from governance.institutions import (
    authenticate_actor,
    bootstrap_admin_key,
    create_actor,
    create_institution,
)
from governance.records import Actor
from idl.compiler import builtin_source
from tenants.tenant import Tenant

ROLES = {"owner": "owner", "exec": "executive_admin", "agent": "organizational_agent"}


@dataclass
class Domain:
    ctx: EngineContext
    tenant: Tenant
    actors: dict[str, Actor] = field(default_factory=dict)

    @property
    def institution_id(self) -> str:
        return self.tenant.institution_id

    def close(self) -> None:
        self.ctx.close()


def open_domain(
    data_dir: Path, external_id: str = "ext-ana", version: str = "1.0.0", **open_args: Any
) -> Domain:
    ctx = EngineContext.open(data_dir, **open_args)
    institution, _ = create_institution(ctx, external_id, "Ana")
    institution_id = institution["institution_id"]
    bootstrap_admin_key(ctx, institution_id)
    tenant = ctx.tenants.get(institution_id)
    domain = Domain(ctx, tenant)
    for who, role in ROLES.items():
        token = create_actor(tenant, who, role)["token"]
        domain.actors[who] = authenticate_actor(ctx, institution_id, token)[1]
    register_bundle(tenant, builtin_source("personal_ops", version))
    release_bundle(ctx, tenant, "personal_ops", version)
    return domain
