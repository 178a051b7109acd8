"""Check a proposal's parameters against an action's parameter schema."""

import re
from typing import Any

from idl import IDLError
from idl.model import ActionSpec, ParamSpec

SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_FILES = 10_000
FILE_KEYS = {"path", "sha256", "size"}


class ParamError(IDLError):
    """A parameter the action's schema refuses: the English sentence, and a stable `code` with
    its `args` for whoever says it in another language."""

    def __init__(self, param: str, problem: str, code: str, **args: Any) -> None:
        super().__init__(f"parameter {param!r} {problem}")
        self.param = param
        self.problem = problem
        self.code = code
        self.args_ = args


def is_absolute(value: str) -> bool:
    """Whether a path starts outside any folder: `/…`, `\\…` or a drive (`C:…`)."""
    return value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value) is not None


def _check_relative_path(name: str, value: str) -> None:
    if "\x00" in value:
        raise ParamError(name, "contains a NUL byte", "nul_byte")
    if is_absolute(value):
        raise ParamError(name, "must be relative to root_dir, not absolute", "absolute_path")
    parts = value.replace("\\", "/").split("/")
    if ".." in parts:
        raise ParamError(name, "must not contain '..'", "dot_dot")
    if value.strip() == "":
        raise ParamError(name, "must not be empty", "empty")


def _names_the_root(value: str) -> bool:
    """Whether a relative path is the root folder itself (".", "./", ".//."; ".." is refused
    before)."""
    return all(part in ("", ".") for part in value.replace("\\", "/").split("/"))


def _check_file_path(name: str, value: str) -> None:
    """A path that names a file by its content: the root folder is no file."""
    if _names_the_root(value):
        raise ParamError(name, "names the root folder, not a file", "root_path")


def _check_files(name: str, spec: ParamSpec, value: Any) -> list[dict[str, Any]]:
    """A set of files, each named by its content: [{path, sha256, size}], no path twice."""
    if not isinstance(value, list):
        raise ParamError(name, "must be a list of {path, sha256, size}", "not_file_list")
    least, most = max(spec.min or 1, 1), min(spec.max or MAX_FILES, MAX_FILES)
    if not least <= len(value) <= most:
        raise ParamError(
            name, f"must hold {least} to {most} files", "file_count", least=least, most=most
        )
    seen: set[str] = set()
    for n, item in enumerate(value):
        where = f"{name}[{n}]"
        if not isinstance(item, dict) or set(item) != FILE_KEYS:
            raise ParamError(where, "must be exactly {path, sha256, size}", "file_keys")
        path, sha256, size = item["path"], item["sha256"], item["size"]
        if not isinstance(path, str) or len(path) > spec.max_length:
            raise ParamError(
                f"{where}.path",
                f"must be a string of at most {spec.max_length}",
                "too_long",
                max=spec.max_length,
            )
        _check_relative_path(f"{where}.path", path)
        _check_file_path(f"{where}.path", path)
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
            raise ParamError(f"{where}.sha256", "must be 64 lowercase hex characters", "bad_sha256")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ParamError(f"{where}.size", "must be a non-negative integer", "bad_size")
        if path in seen:
            raise ParamError(f"{where}.path", f"names {path!r} twice", "named_twice", path=path)
        seen.add(path)
    return value


def _check(name: str, spec: ParamSpec, value: Any) -> Any:
    kind = spec.type
    if kind == "files":
        return _check_files(name, spec, value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ParamError(name, "must be a boolean", "not_boolean")
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamError(name, "must be an integer", "not_integer")
        if spec.min is not None and value < spec.min:
            raise ParamError(name, f"must be >= {spec.min}", "too_small", min=spec.min)
        if spec.max is not None and value > spec.max:
            raise ParamError(name, f"must be <= {spec.max}", "too_large", max=spec.max)
        return value
    if not isinstance(value, str):
        raise ParamError(name, f"must be a string ({kind})", "not_string", kind=kind)
    if len(value) > spec.max_length:
        raise ParamError(
            name, f"is longer than {spec.max_length} characters", "too_long", max=spec.max_length
        )
    if kind == "path":
        _check_relative_path(name, value)
    elif kind == "filename":
        _check_relative_path(name, value)
        if "/" in value or "\\" in value or value in (".",):
            raise ParamError(name, "must be a bare file name without folders", "not_bare_name")
    elif kind == "sha256" and not SHA256.fullmatch(value):
        raise ParamError(name, "must be 64 lowercase hex characters", "bad_sha256")
    return value


def check_params(action: ActionSpec, params: Any) -> dict[str, Any]:
    """Return the parameters with defaults filled in, or raise ParamError."""
    if not isinstance(params, dict):
        raise ParamError("params", "must be an object", "not_object")
    unknown = sorted(set(params) - set(action.params))
    if unknown:
        raise ParamError(unknown[0], "is not declared by the action", "undeclared")
    checked: dict[str, Any] = {}
    for name, spec in sorted(action.params.items()):
        if name in params and params[name] is not None:
            checked[name] = _check(name, spec, params[name])
        elif spec.required:
            raise ParamError(name, "is required", "required")
        elif spec.default is not None:
            checked[name] = spec.default
    path = checked.get("path")
    if "sha256" in checked and isinstance(path, str):  # the file of that content
        _check_file_path("path", path)
    return checked
