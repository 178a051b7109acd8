import pytest

from idl.compiler import builtin_source, compile_source
from idl.params import ParamError, check_params

ACTIONS = compile_source(builtin_source("personal_ops", "1.0.0")).contract.actions
V1_1 = compile_source(builtin_source("personal_ops", "1.1.0")).contract.actions


def test_defaults_are_filled():
    assert check_params(ACTIONS["list_files"], {}) == {"path": ".", "recursive": True}


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "'path' is required"),
        ({"path": "/etc/passwd"}, "not absolute"),
        ({"path": "a/../../b"}, "'..'"),
        ({"path": "a\x00b"}, "NUL"),
        ({"path": "a", "sha256": "xyz"}, "64 lowercase hex"),
        ({"path": "a", "sha256": "a" * 64 + "\n"}, "64 lowercase hex"),  # `$` would match it
        ({"path": "a", "force": True}, "'force' is not declared"),
        ({"path": 3}, "must be a string"),
    ],
)
def test_bad_params_name_the_problem(params, problem):
    with pytest.raises(ParamError, match=problem):
        check_params(ACTIONS["delete"], params)


def test_rename_new_name_must_be_bare():
    with pytest.raises(ParamError, match="bare file name"):
        check_params(ACTIONS["rename"], {"path": "a.txt", "new_name": "sub/b.txt"})


def test_a_file_named_by_a_hash_with_a_trailing_newline_is_refused():
    files = [{"path": "a.txt", "sha256": "a" * 64 + "\n", "size": 1}]
    quarantine = V1_1["quarantine_files"]
    with pytest.raises(ParamError, match="64 lowercase hex"):
        check_params(quarantine, {"files": files})
    files[0]["sha256"] = "a" * 64
    assert check_params(quarantine, {"files": files})["files"] == files


@pytest.mark.parametrize("root", [".", "./", ".//.", ".\\."])
def test_a_file_named_by_its_content_is_never_the_root_folder(root):
    with pytest.raises(ParamError, match="root folder"):
        check_params(ACTIONS["delete"], {"path": root, "sha256": "a" * 64})
    with pytest.raises(ParamError, match="root folder"):
        check_params(
            V1_1["quarantine_files"], {"files": [{"path": root, "sha256": "a" * 64, "size": 1}]}
        )
    assert check_params(ACTIONS["list_files"], {"path": root})["path"] == root  # a folder to list
