from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

# `files`: a list of {path, sha256, size} (the content a bulk action acts on); `min`/`max` bound
# how many it holds.
ParamType = Literal["path", "filename", "string", "integer", "boolean", "sha256", "files"]
NAME = r"^[a-z][a-z0-9_]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Fields added after a contract version was released are left out of the manifest while
    # unset, so every released manifest keeps its sha256.
    ADDED_LATER: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _stable(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        for name in self.ADDED_LATER:
            if data.get(name) is None:
                data.pop(name, None)
        return data


class ParamSpec(Strict):
    type: ParamType
    required: bool = False
    default: str | int | bool | None = None
    min: int | None = None
    max: int | None = None
    max_length: int = Field(default=1024, ge=1, le=4096)
    description: str = ""


class ActionSpec(Strict):
    ADDED_LATER: ClassVar[frozenset[str]] = frozenset({"retention_days"})

    resource: str
    department: str
    # write: changes files without destroying anything (restore), so it may run unapproved
    effect: Literal["read", "write", "destructive"]
    roles: list[str] = Field(min_length=1)
    approval: Literal["none", "required"]
    approvers: list[str] = []
    approval_ttl_seconds: int = Field(default=86400, ge=60, le=30 * 86400)
    delete_mode: Literal["quarantine", "hard"] | None = None
    description: str = ""
    params: dict[str, ParamSpec] = {}
    # purge: quarantined files older than this are proposed for purging by the clock
    retention_days: int | None = Field(default=None, ge=1, le=3650)


class RoleSpec(Strict):
    human: bool
    description: str = ""


class ResourceSpec(Strict):
    kind: Literal["filesystem"]
    description: str = ""


class ContractHeader(Strict):
    name: str = Field(pattern=NAME)
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    description: str = ""
    departments: list[str] = Field(min_length=1)


class Contract(Strict):
    contract: ContractHeader
    resources: dict[str, ResourceSpec] = Field(min_length=1)
    roles: dict[str, RoleSpec] = Field(min_length=1)
    actions: dict[str, ActionSpec] = Field(min_length=1)

    @property
    def ref(self) -> str:
        return f"{self.contract.name}@v{self.contract.version}"
