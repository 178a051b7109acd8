"""The v1 data dir the last v1 engine wrote (tests/fixtures/v1_data_dir.tar.gz), unpacked."""

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "v1_data_dir.tar.gz"


@dataclass
class V1DataDir:
    root: Path
    credentials: dict[str, dict]

    def folder(self, institution_id: str) -> Path:
        return self.root / "institutions" / institution_id

    @property
    def institution_ids(self) -> list[str]:
        return sorted(self.credentials)


def unpack_v1(target: Path) -> V1DataDir:
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(FIXTURE) as archive:
        archive.extractall(target, filter="data")
    credentials = json.loads((target / "credentials.json").read_text())
    return V1DataDir(target / "data", credentials)
