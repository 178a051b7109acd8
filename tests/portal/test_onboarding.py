import concurrent.futures

import pytest

from harness.servers import ADMIN_TOKEN
from portal import credentials
from portal.accounts import sign_up
from portal.engine_client import EngineClient
from portal.migrations import migrate
from portal.onboarding import onboard
from portal.secret_box import SecretBox, new_key_b64
from tests.support.databases import accounts_database


@pytest.fixture(params=["postgres", "sqlite"])
def setup(request, tmp_path, engine):
    with accounts_database(request.param, tmp_path) as db:
        migrate(db)
        client = EngineClient(engine, ADMIN_TOKEN)
        yield db, SecretBox.from_b64(new_key_b64()), client
        client.close()


def test_onboarding_is_idempotent_and_shows_the_token_once(setup, engine):
    db, box, client = setup
    user = sign_up(db, "ana@example.org", "correct horse battery")
    first = onboard(db, box, client, user, "Ana", engine)
    package = first["runtime_package"]
    assert package["agent_token"].startswith("lat_") and package["agent_token_shown"]
    assert first["contract"]["ref"] == "personal_ops@v1.1.0"
    second = onboard(db, box, client, user, "Ana", engine)
    assert second["runtime_package"]["agent_token"] is None
    assert second["runtime_package"]["institution_id"] == package["institution_id"]
    actors = client.get(package["institution_id"], "/actors", _admin_key(db, box, first))
    assert sorted(a["role"] for a in actors["actors"]) == [
        "executive_admin",
        "organizational_agent",
        "owner",
    ]
    admin_key = _admin_key(db, box, first)
    departments = client.get(package["institution_id"], "/departments", admin_key)
    assert [d["department"] for d in departments["departments"]] == ["personal_ops"]
    activated = client.get(
        package["institution_id"], "/ledger/events", admin_key, type="department.activated"
    )
    assert len(activated["events"]) == 1, "activated once, however often onboarding runs"


def test_concurrent_onboarding_creates_one_of_everything(setup, engine):
    db, box, client = setup
    user = sign_up(db, "bo@example.org", "correct horse battery")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: onboard(db, box, client, user, "Bo", engine), range(4)))
    assert len({r["runtime_package"]["institution_id"] for r in results}) == 1
    assert sum(r["runtime_package"]["agent_token_shown"] for r in results) == 1
    actors = client.get(
        results[0]["runtime_package"]["institution_id"], "/actors", _admin_key(db, box, results[0])
    )
    assert len(actors["actors"]) == 3


def test_secrets_are_encrypted_at_rest(setup, engine):
    db, box, client = setup
    user = sign_up(db, "cy@example.org", "correct horse battery")
    token = onboard(db, box, client, user, "Cy", engine)["runtime_package"]["agent_token"]
    with db.transaction() as tx:
        rows = tx.all("SELECT * FROM engine_credentials")
    assert len(rows) == 4
    dump = repr(rows)
    assert token not in dump and "lak_" not in dump and "lat_" not in dump


def _admin_key(db, box, result):
    with db.transaction() as tx:
        return credentials.load(tx, box, result["institution"]["id"], "admin_key")
