"""The institutions an engine process has open: at most `max_open`, least recently used closed
first, reopened on demand."""

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tenants import InstitutionMissing, InstitutionUnavailable, migration, schema
from tenants.database import InstitutionDB, Tx, create_file
from tenants.layout import DataDir

DEFAULT_MAX_OPEN = 256


@dataclass(frozen=True)
class Tenant:
    institution_id: str
    directory: Path
    db: InstitutionDB


class Tenants:
    """Every lookup is by a validated institution id; a missing file is InstitutionMissing,
    an unusable one InstitutionUnavailable (for that institution only)."""

    def __init__(self, data_dir: DataDir, max_open: int = DEFAULT_MAX_OPEN) -> None:
        if max_open < 1:
            raise ValueError("max_open must be at least 1")
        self.data_dir = data_dir
        self.max_open = max_open
        self._open: OrderedDict[str, Tenant] = OrderedDict()
        self._lock = threading.Lock()

    def path(self, institution_id: str) -> Path:
        return self.data_dir.institution_dir(institution_id) / schema.FILENAME

    def create(self, institution_id: str, first: Callable[[Tx], None]) -> Tenant:
        """Make the institution's file, with `first`'s writes (its first ledger event) in it."""
        directory = self.data_dir.institution_dir(institution_id)
        directory.mkdir(mode=0o700, exist_ok=True)
        create_file(directory / schema.FILENAME, institution_id, first)
        return self.get(institution_id)

    def get_open(self, institution_id: str) -> Tenant | None:
        """The institution when it is already open (no I/O: safe on the event loop)."""
        with self._lock:
            tenant = self._open.get(institution_id)
            if tenant is not None:
                self._open.move_to_end(institution_id)
            return tenant

    def get(self, institution_id: str) -> Tenant:
        tenant = self.get_open(institution_id)
        if tenant is not None:
            return tenant
        opened = self._open_tenant(institution_id)
        with self._lock:
            raced = self._open.get(institution_id)  # another thread opened it meanwhile
            if raced is not None:
                self._open.move_to_end(institution_id)
            else:
                self._open[institution_id] = opened
            evicted = []
            while len(self._open) > self.max_open:
                evicted.append(self._open.popitem(last=False)[1])
        if raced is not None:
            evicted.append(opened)
        for old in evicted:
            old.db.close()
        return raced or opened

    def _open_tenant(self, institution_id: str) -> Tenant:
        directory = self.data_dir.institution_dir(institution_id)
        path = directory / schema.FILENAME
        if not path.exists():
            if migration.has_v1_files(directory):  # migrated at engine start, or by the CLI
                raise InstitutionUnavailable(
                    institution_id,
                    "it is still in the v1 layout (tenant.db + ledger.db) and was not migrated;"
                    " see `libervia storage migrate`",
                )
            raise InstitutionMissing(f"no institution {institution_id}")
        db = InstitutionDB.open(path, institution_id)
        return Tenant(institution_id, directory, db)

    def discard(self, institution_id: str) -> None:
        """Forget an open institution (its file is about to go away)."""
        with self._lock:
            tenant = self._open.pop(institution_id, None)
        if tenant is not None:
            tenant.db.close()

    def __len__(self) -> int:
        return len(self._open)

    def open_ids(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def close(self) -> None:
        with self._lock:
            tenants = list(self._open.values())
            self._open.clear()
        for tenant in tenants:
            tenant.db.close()
