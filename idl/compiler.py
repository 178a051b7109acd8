import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from idl import IDLError
from idl.model import Contract
from idl.validator import validate_contract
from kernel.canonical import canonical_json

MANIFEST_FORMAT = "libervia-idl-manifest/1"
BUNDLES_DIR = Path(__file__).parent / "bundles"


@dataclass(frozen=True)
class CompiledBundle:
    contract: Contract
    manifest: dict[str, Any]
    manifest_sha256: str
    source_sha256: str

    @property
    def ref(self) -> str:
        return self.contract.ref


def parse_contract(source: str) -> Contract:
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise IDLError(f"contract is not valid TOML: {exc}") from exc
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise IDLError(f"contract does not match the IDL schema: {details}") from exc
    validate_contract(contract)
    return contract


def compile_source(source: str) -> CompiledBundle:
    """Same source meaning, same manifest, same sha256: the manifest is canonical JSON."""
    contract = parse_contract(source)
    manifest = {"format": MANIFEST_FORMAT, **contract.model_dump(mode="json")}
    manifest_bytes = canonical_json(manifest)
    return CompiledBundle(
        contract=contract,
        manifest=manifest,
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        source_sha256=hashlib.sha256(source.encode()).hexdigest(),
    )


def contract_from_manifest(manifest: dict[str, Any]) -> Contract:
    return Contract.model_validate({k: v for k, v in manifest.items() if k != "format"})


def builtin_source(name: str, version: str) -> str:
    path = BUNDLES_DIR / name / f"v{version}.toml"
    if not path.is_file():
        raise IDLError(f"no built-in bundle {name}@v{version}")
    return path.read_text(encoding="utf-8")


def bundle_signature_message(name: str, version: str, manifest_sha256: str) -> dict[str, str]:
    return {
        "kind": "libervia.idl.bundle",
        "name": name,
        "version": version,
        "manifest_sha256": manifest_sha256,
    }
