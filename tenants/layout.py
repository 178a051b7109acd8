import re
import secrets
from pathlib import Path

from tenants import InstitutionMissing

INSTITUTION_ID = re.compile(r"^inst_[0-9a-f]{24}$")


def new_institution_id() -> str:
    return "inst_" + secrets.token_hex(12)


class DataDir:
    """registry.db, the engine's signing key, and one folder per institution holding its one
    database file (`institutions/<id>/institution.db`)."""

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
        if not INSTITUTION_ID.fullmatch(institution_id):
            raise InstitutionMissing(f"malformed institution id {institution_id!r}")
        return self.root / "institutions" / institution_id

    def institution_ids(self) -> list[str]:
        """Every institution folder, whatever state its files are in."""
        folder = self.root / "institutions"
        return sorted(
            p.name for p in folder.iterdir() if p.is_dir() and INSTITUTION_ID.fullmatch(p.name)
        )
