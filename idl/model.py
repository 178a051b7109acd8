from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ParamType = Literal["path", "filename", "string", "integer", "boolean", "sha256"]
NAME = r"^[a-z][a-z0-9_]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamSpec(Strict):
    type: ParamType
    required: bool = False
    default: str | int | bool | None = None
    min: int | None = None
    max: int | None = None
    max_length: int = Field(default=1024, ge=1, le=4096)
    description: str = ""


class ActionSpec(Strict):
    resource: str
    department: str
    effect: Literal["read", "destructive"]
    roles: list[str] = Field(min_length=1)
    approval: Literal["none", "required"]
    approvers: list[str] = []
    approval_ttl_seconds: int = Field(default=86400, ge=60, le=30 * 86400)
    delete_mode: Literal["quarantine", "hard"] | None = None
    description: str = ""
    params: dict[str, ParamSpec] = {}


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
