"""Destructive is intrinsic: no contract can make rename, move or delete run unapproved."""

import pytest

from idl import IDLError
from idl.compiler import builtin_source, compile_source

SOURCE = builtin_source("personal_ops", "1.0.0")


def relabel(source: str, old: str, new: str) -> str:
    head, tail = (
        source[: source.index("[actions.delete]")],
        source[source.index("[actions.delete]") :],
    )
    assert old in tail
    return head + tail.replace(old, new, 1)


def test_delete_labelled_a_read_that_needs_no_approval_is_refused():
    forged = relabel(SOURCE, 'effect = "destructive"', 'effect = "read"')
    forged = relabel(forged, 'approval = "required"', 'approval = "none"')
    forged = relabel(forged, 'approvers = ["owner", "executive_admin"]', "approvers = []")
    forged = relabel(forged, 'delete_mode = "quarantine"', 'delete_mode = "hard"')
    with pytest.raises(IDLError, match="'delete' removes or overwrites data"):
        compile_source(forged)


@pytest.mark.parametrize("action", ["rename", "move"])
def test_rename_and_move_stay_destructive(action):
    start = SOURCE.index(f"[actions.{action}]")
    end = SOURCE.index("[actions.", start + 1)
    block = SOURCE[start:end].replace('effect = "destructive"', 'effect = "read"')
    block = block.replace('approval = "required"', 'approval = "none"')
    block = block.replace('approvers = ["owner", "executive_admin"]', "approvers = []")
    with pytest.raises(IDLError, match=f"'{action}' removes or overwrites data"):
        compile_source(SOURCE[:start] + block + SOURCE[end:])


def test_the_builtin_contract_passes():
    assert compile_source(SOURCE).contract.actions["delete"].effect == "destructive"


def test_a_destructive_action_must_bind_the_content_it_acts_on():
    forged = relabel(SOURCE, 'params.sha256 = { type = "sha256", required = false }', "")
    with pytest.raises(IDLError, match="actions.delete: destructive actions must declare"):
        compile_source(forged)
