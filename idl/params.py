"""Check a proposal's parameters against an action's parameter schema."""

import re
from typing import Any

from idl import IDLError
from idl.model import ActionSpec, ParamSpec

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ParamError(IDLError):
    def __init__(self, param: str, problem: str) -> None:
        super().__init__(f"parameter {param!r} {problem}")
        self.param = param
        self.problem = problem


def _check_relative_path(name: str, value: str) -> None:
    if "\x00" in value:
        raise ParamError(name, "contains a NUL byte")
    if value.startswith("/") or value.startswith("\\") or re.match(r"^[A-Za-z]:", value):
        raise ParamError(name, "must be relative to root_dir, not absolute")
    parts = value.replace("\\", "/").split("/")
    if ".." in parts:
        raise ParamError(name, "must not contain '..'")
    if value.strip() == "":
        raise ParamError(name, "must not be empty")


def _check(name: str, spec: ParamSpec, value: Any) -> Any:
    kind = spec.type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ParamError(name, "must be a boolean")
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamError(name, "must be an integer")
        if spec.min is not None and value < spec.min:
            raise ParamError(name, f"must be >= {spec.min}")
        if spec.max is not None and value > spec.max:
            raise ParamError(name, f"must be <= {spec.max}")
        return value
    if not isinstance(value, str):
        raise ParamError(name, f"must be a string ({kind})")
    if len(value) > spec.max_length:
        raise ParamError(name, f"is longer than {spec.max_length} characters")
    if kind == "path":
        _check_relative_path(name, value)
    elif kind == "filename":
        _check_relative_path(name, value)
        if "/" in value or "\\" in value or value in (".",):
            raise ParamError(name, "must be a bare file name without folders")
    elif kind == "sha256" and not SHA256.match(value):
        raise ParamError(name, "must be 64 lowercase hex characters")
    return value


def check_params(action: ActionSpec, params: Any) -> dict[str, Any]:
    """Return the parameters with defaults filled in, or raise ParamError."""
    if not isinstance(params, dict):
        raise ParamError("params", "must be an object")
    unknown = sorted(set(params) - set(action.params))
    if unknown:
        raise ParamError(unknown[0], "is not declared by the action")
    checked: dict[str, Any] = {}
    for name, spec in sorted(action.params.items()):
        if name in params and params[name] is not None:
            checked[name] = _check(name, spec, params[name])
        elif spec.required:
            raise ParamError(name, "is required")
        elif spec.default is not None:
            checked[name] = spec.default
    return checked
