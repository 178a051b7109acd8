import pytest

from idl import IDLError
from idl.compiler import builtin_source, compile_source

SOURCE = builtin_source("personal_ops", "1.0.0")


def test_personal_ops_compiles_with_expected_rules():
    bundle = compile_source(SOURCE)
    assert bundle.ref == "personal_ops@v1.0.0"
    actions = bundle.contract.actions
    for name in ("list_files", "detect_duplicates", "suggest_cleanup"):
        assert actions[name].approval == "none"
    for name in ("rename", "move", "delete"):
        assert actions[name].approval == "required"
        assert actions[name].effect == "destructive"


def test_manifest_hash_is_deterministic():
    first, second = compile_source(SOURCE), compile_source(SOURCE)
    assert first.manifest_sha256 == second.manifest_sha256
    assert len(first.manifest_sha256) == 64


def test_hash_ignores_comments_and_key_order_but_not_meaning():
    reordered = "# a comment\n" + SOURCE.replace(
        'roles = ["owner", "executive_admin", "organizational_agent"]\napproval = "none"',
        'approval = "none"\nroles = ["owner", "executive_admin", "organizational_agent"]',
    )
    assert reordered != SOURCE
    assert compile_source(reordered).manifest_sha256 == compile_source(SOURCE).manifest_sha256
    changed = SOURCE.replace("approval_ttl_seconds = 86400", "approval_ttl_seconds = 3600", 1)
    assert compile_source(changed).manifest_sha256 != compile_source(SOURCE).manifest_sha256


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('approval = "required"', 'approval = "none"'),
            "destructive actions must require approval",
        ),
        (('resource = "files"', 'resource = "disks"'), "unknown resource 'disks'"),
        (('approvers = ["owner",', 'approvers = ["organizational_agent",'), "not a human role"),
        (('version = "1.0.0"', 'version = "one"'), "contract.version"),
        (("[contract]", "[contract\n"), "not valid TOML"),
    ],
)
def test_invalid_contracts_are_refused_with_a_reason(edit, message):
    with pytest.raises(IDLError, match=message):
        compile_source(SOURCE.replace(*edit, 1))


def test_a_released_manifest_keeps_its_hash_as_the_idl_grows():
    """Institutions hold v1.0.0's manifest and its sha256: the IDL's later fields
    (retention_days, the files type, the write effect) must not change it."""
    bundle = compile_source(builtin_source("personal_ops", "1.0.0"))
    assert bundle.manifest_sha256 == (
        "0f40f9df25aecf1261a66c2eb5cd9f209a7a012f3de3601efc9b2f0485163977"
    )
