import re
import secrets
from pathlib import Path

from tenants import TenantError

INSTITUTION_ID = re.compile(r"^inst_[0-9a-f]{24}$")


def new_institution_id() -> str:
    return "inst_" + secrets.token_hex(12)


class DataDir:
    """registry.db, the engine's signing key, and one folder per institution."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "institutions").mkdir(exist_ok=True)

    @property
    def registry_path(self) -> Path:
        return self.root / "registry.db"

    @property
    def signing_key_path(self) -> Path:
        return self.root / "engine_ed25519.pem"

    def institution_dir(self, institution_id: str) -> Path:
        if not INSTITUTION_ID.match(institution_id):
            raise TenantError(f"malformed institution id {institution_id!r}")
        return self.root / "institutions" / institution_id
