"""Static checks of a contract that its schema alone cannot express."""

import re

from idl import DESTRUCTIVE_ACTIONS, IDLError
from idl.model import NAME, ActionSpec, Contract


def content_params(action: ActionSpec) -> list[str]:
    """The params that name the content an action acts on (a sha256, or files with theirs)."""
    return [name for name, spec in action.params.items() if spec.type in ("sha256", "files")]


def validate_contract(contract: Contract) -> None:
    problems: list[str] = []
    departments = set(contract.contract.departments)
    humans = {name for name, role in contract.roles.items() if role.human}
    for name in [*contract.roles, *contract.actions, *contract.resources]:
        if not re.fullmatch(NAME, name):
            problems.append(f"name {name!r} must match {NAME}")
    for name, action in sorted(contract.actions.items()):
        where = f"actions.{name}"
        if action.resource not in contract.resources:
            problems.append(f"{where}: unknown resource {action.resource!r}")
        if action.department not in departments:
            problems.append(f"{where}: unknown department {action.department!r}")
        for role in action.roles:
            if role not in contract.roles:
                problems.append(f"{where}: unknown role {role!r}")
        if name in DESTRUCTIVE_ACTIONS and action.effect != "destructive":
            problems.append(
                f"{where}: {name!r} removes or overwrites data; its effect must be 'destructive'"
            )
        if action.effect == "destructive" and action.approval != "required":
            problems.append(f"{where}: destructive actions must require approval")
        if action.effect == "destructive" and not content_params(action):
            problems.append(
                f"{where}: destructive actions must declare a 'sha256' or 'files' param (the"
                " content a human approves)"
            )
        if action.retention_days is not None and name != "purge":
            problems.append(f"{where}: retention_days only applies to purge")
        if action.approval == "required":
            if not action.approvers:
                problems.append(f"{where}: approval required but no approvers")
            for role in action.approvers:
                if role not in humans:
                    problems.append(f"{where}: approver {role!r} is not a human role")
        elif action.approvers:
            problems.append(f"{where}: approvers given but approval is 'none'")
        if action.delete_mode and name != "delete":
            problems.append(f"{where}: delete_mode only applies to delete")
        for pname, spec in action.params.items():
            if not re.fullmatch(NAME, pname):
                problems.append(f"{where}.params: name {pname!r} must match {NAME}")
            if spec.required and spec.default is not None:
                problems.append(f"{where}.params.{pname}: required params take no default")
            if spec.type == "files" and spec.default is not None:
                problems.append(f"{where}.params.{pname}: a files param takes no default")
    if problems:
        raise IDLError("; ".join(problems))
