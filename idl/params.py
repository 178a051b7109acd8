"""Check a proposal's parameters against an action's parameter schema."""

import re
from typing import Any

from idl import IDLError
from idl.model import ActionSpec, ParamSpec

SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_FILES = 10_000
FILE_KEYS = {"path", "sha256", "size"}


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


def _check_files(name: str, spec: ParamSpec, value: Any) -> list[dict[str, Any]]:
    """A set of files, each named by its content: [{path, sha256, size}], no path twice."""
    if not isinstance(value, list):
        raise ParamError(name, "must be a list of {path, sha256, size}")
    least, most = max(spec.min or 1, 1), min(spec.max or MAX_FILES, MAX_FILES)
    if not least <= len(value) <= most:
        raise ParamError(name, f"must hold {least} to {most} files")
    seen: set[str] = set()
    for n, item in enumerate(value):
        where = f"{name}[{n}]"
        if not isinstance(item, dict) or set(item) != FILE_KEYS:
            raise ParamError(where, "must be exactly {path, sha256, size}")
        path, sha256, size = item["path"], item["sha256"], item["size"]
        if not isinstance(path, str) or len(path) > spec.max_length:
            raise ParamError(f"{where}.path", f"must be a string of at most {spec.max_length}")
        _check_relative_path(f"{where}.path", path)
        if not isinstance(sha256, str) or not SHA256.match(sha256):
            raise ParamError(f"{where}.sha256", "must be 64 lowercase hex characters")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ParamError(f"{where}.size", "must be a non-negative integer")
        if path in seen:
            raise ParamError(f"{where}.path", f"names {path!r} twice")
        seen.add(path)
    return value


def _check(name: str, spec: ParamSpec, value: Any) -> Any:
    kind = spec.type
    if kind == "files":
        return _check_files(name, spec, value)
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
