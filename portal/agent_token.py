"""A new agent token from the portal (a lost or stolen laptop): the engine re-issues it, the old
one gets 401 from that moment, the ledger records it (`actor.token_reissued`), and the owner sees
the new one once, with the command that configures the agent with it."""

from typing import Any

from portal import credentials
from portal.db import Database
from portal.engine_client import EngineClient
from portal.members import owned
from portal.onboarding import lock_institution
from portal.secret_box import SecretBox

AGENT = "organizational_agent"


def reissue(
    db: Database, box: SecretBox, engine: EngineClient, user_id: str, public_engine_url: str
) -> dict[str, Any]:
    institution = owned(db, user_id)
    iid, engine_id = institution["id"], institution["engine_institution_id"]
    with db.transaction() as tx:
        lock_institution(db, tx, iid)  # one re-issue at a time: the stored token is the newest
        admin_key = credentials.load(tx, box, iid, "admin_key")
        actor_id = credentials.actor_of(tx, iid, AGENT)
        issued = engine.post(
            engine_id, f"/actors/{actor_id}/token", admin_key, {"reason": "re-issued by the owner"}
        )
        credentials.replace(tx, box, iid, AGENT, issued["token"])
    return {
        "institution_id": engine_id,
        "engine_base_url": public_engine_url,
        "agent_token": issued["token"],
    }
