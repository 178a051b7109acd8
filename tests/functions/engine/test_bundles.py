import httpx

from harness.engine_api import new_institution
from idl.compiler import builtin_source, bundle_signature_message
from ledger.signing import parse_public_key, verify_signature


def test_release_signs_a_deterministic_manifest(engine):
    first = new_institution(engine, release=False)
    second = new_institution(engine, release=False)
    hashes = []
    for inst in (first, second):
        inst.post("/bundles", "admin", {"source": builtin_source("personal_ops", "1.0.0")})
        released = inst.post("/bundles/personal_ops/v1.0.0/release", "admin").json()
        hashes.append(released["manifest_sha256"])
        public_key = parse_public_key(httpx.get(f"{engine}/v1/public-key").json()["public_key"])
        message = bundle_signature_message("personal_ops", "1.0.0", released["manifest_sha256"])
        verify_signature(public_key, message, released["signature"])
    assert hashes[0] == hashes[1]


def test_invalid_contract_is_refused_with_reason(inst):
    bad = builtin_source("personal_ops", "1.0.0").replace(
        'approval = "required"', 'approval = "none"', 1
    )
    response = inst.post("/bundles", "admin", {"source": bad.replace("1.0.0", "1.0.1", 1)})
    assert response.status_code == 400
    assert "must require approval" in response.json()["error"]["message"]


def test_a_registered_version_cannot_change_meaning(inst):
    changed = builtin_source("personal_ops", "1.0.0").replace(
        "approval_ttl_seconds = 86400", "approval_ttl_seconds = 600", 1
    )
    response = inst.post("/bundles", "admin", {"source": changed})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "bundle_version_exists"


def test_only_the_admin_key_manages_bundles(inst):
    response = inst.post("/bundles", "owner", {"builtin": "personal_ops@v1.0.0"})
    assert response.status_code == 401


def test_active_contract_is_readable_by_actors(inst):
    contract = inst.get("/contract", "agent").json()
    assert contract["ref"] == "personal_ops@v1.0.0"
    assert contract["status"] == "released"
