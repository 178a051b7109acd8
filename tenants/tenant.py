import threading
from dataclasses import dataclass
from pathlib import Path

from ledger.store import Ledger
from tenants import TenantError
from tenants.layout import DataDir
from tenants.store import TenantStore


@dataclass
class Tenant:
    institution_id: str
    directory: Path
    store: TenantStore
    ledger: Ledger


class Tenants:
    """Opens each institution's files once; every lookup is by a validated institution id."""

    def __init__(self, data_dir: DataDir) -> None:
        self.data_dir = data_dir
        self._open: dict[str, Tenant] = {}
        self._lock = threading.Lock()

    def create(self, institution_id: str) -> Tenant:
        directory = self.data_dir.institution_dir(institution_id)
        directory.mkdir(mode=0o700, exist_ok=True)
        return self.get(institution_id)

    def get(self, institution_id: str) -> Tenant:
        with self._lock:
            tenant = self._open.get(institution_id)
            if tenant is None:
                directory = self.data_dir.institution_dir(institution_id)
                if not directory.is_dir():
                    raise TenantError(f"no institution {institution_id}")
                tenant = Tenant(
                    institution_id,
                    directory,
                    TenantStore(directory / "tenant.db"),
                    Ledger(directory / "ledger.db", institution_id),
                )
                self._open[institution_id] = tenant
            return tenant

    def close(self) -> None:
        with self._lock:
            for tenant in self._open.values():
                tenant.store.close()
                tenant.ledger.close()
            self._open.clear()
