"""One idempotent onboarding: every step checks what exists before it acts."""

from typing import Any

from kernel.errors import Conflict, Refused
from kernel.times import stamp_now
from portal import credentials
from portal.accounts import ensure_institution, institution_of
from portal.db import Database, Tx
from portal.engine_client import EngineClient
from portal.secret_box import SecretBox

ACTORS = (
    ("owner", "Owner"),
    ("executive_admin", "Executive admin"),
    ("organizational_agent", "Agent"),
)


def lock_institution(db: Database, tx: Tx, institution_id: str) -> None:
    """Concurrent onboardings of one institution take their steps one at a time."""
    if db.dialect == "postgres":
        tx.execute("SELECT id FROM institutions WHERE id=? FOR UPDATE", (institution_id,))


def plan_of(db: Database, code: str) -> dict[str, Any]:
    with db.transaction() as tx:
        plan = tx.one("SELECT * FROM plans WHERE code=?", (code,))
    if plan is None:
        raise Conflict(f"there is no plan {code!r}", code="unknown_plan")
    return plan


def contract_in_force(
    engine: EngineClient, engine_id: str, admin_key: str, plan_ref: str
) -> dict[str, Any]:
    """The institution's active contract; the plan's is released only when there is none yet
    (moving to a newer version is the owner's decision, never onboarding's)."""
    try:
        return dict(engine.get(engine_id, "/contract", admin_key))
    except Refused as exc:
        if exc.code != "no_released_contract":
            raise
    name, version = plan_ref.split("@v", 1)
    engine.release_builtin(engine_id, admin_key, name, version)
    return dict(engine.get(engine_id, "/contract", admin_key))


def onboard(
    db: Database,
    box: SecretBox,
    engine: EngineClient,
    user: dict[str, Any],
    name: str,
    public_engine_url: str,
) -> dict[str, Any]:
    """Create the institution on the Engine, its admin key, its three actors, release the
    contract, keep every secret encrypted, and hand out the agent token exactly once."""
    institution = ensure_institution(db, user["id"], name)
    iid = institution["id"]
    engine_id = institution["engine_institution_id"]
    if engine_id is None:
        engine_id = engine.create_institution(external_id=iid, name=name)["institution_id"]
        with db.transaction() as tx:
            tx.execute(
                "UPDATE institutions SET engine_institution_id=?, onboarding_state=? WHERE id=?",
                (engine_id, "engine_created", iid),
            )

    with db.transaction() as tx:
        lock_institution(db, tx, iid)
        have = credentials.stored_kinds(tx, iid)
        if "admin_key" not in have:
            credentials.store(tx, box, iid, "admin_key", engine.bootstrap_admin_key(engine_id))
        admin_key = credentials.load(tx, box, iid, "admin_key")
    for role, label in ACTORS:
        with db.transaction() as tx:
            lock_institution(db, tx, iid)
            if role in credentials.stored_kinds(tx, iid):
                continue
            actor = engine.create_actor(engine_id, admin_key, label, role)
            credentials.store(tx, box, iid, role, actor["token"], actor["actor_id"])
            if role == "owner":
                tx.execute(
                    "UPDATE memberships SET actor_id=? WHERE institution_id=? AND role='owner'",
                    (actor["actor_id"], iid),
                )
    plan = plan_of(db, institution["plan_code"])
    release = contract_in_force(engine, engine_id, admin_key, plan["contract_ref"])
    if plan["default_department"] in release["manifest"]["contract"]["departments"]:
        engine.activate_department(engine_id, admin_key, plan["default_department"])

    with db.transaction() as tx:
        # Only the one request whose update claims the reveal sees the token, even concurrently.
        first_time = (
            tx.execute(
                "UPDATE institutions SET agent_token_revealed_at=? WHERE id=?"
                " AND agent_token_revealed_at IS NULL",
                (stamp_now(), iid),
            )
            == 1
        )
        tx.execute("UPDATE institutions SET onboarding_state='active' WHERE id=?", (iid,))
        agent_token = credentials.load(tx, box, iid, "organizational_agent") if first_time else None
    return {
        "institution": {
            "id": iid,
            "name": institution["name"],
            "state": "active",
            "plan": institution["plan_code"],
        },
        "contract": {"ref": release["ref"], "manifest_sha256": release["manifest_sha256"]},
        "runtime_package": {
            "institution_id": engine_id,
            "engine_base_url": public_engine_url,
            "agent_token": agent_token,
            "agent_token_shown": first_time,
        },
    }


def onboarding_status(db: Database, user_id: str) -> dict[str, Any] | None:
    institution = institution_of(db, user_id)
    if institution is None:
        return None
    return {
        "id": institution["id"],
        "name": institution["name"],
        "state": institution["onboarding_state"],
        "engine_institution_id": institution["engine_institution_id"],
    }
