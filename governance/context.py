from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.notifier import JobNotifier, PeerBus
from ledger.signing import load_or_create_key, public_key_b64
from tenants.layout import DataDir
from tenants.registry import Registry
from tenants.tenant import DEFAULT_MAX_OPEN, Tenants


@dataclass
class EngineContext:
    """Everything the Engine's domain needs, built once per process."""

    data_dir: DataDir
    registry: Registry
    tenants: Tenants
    signing_key: Ed25519PrivateKey
    notifier: JobNotifier = field(default_factory=lambda: JobNotifier())

    @property
    def public_key(self) -> str:
        return public_key_b64(self.signing_key)

    @classmethod
    def open(
        cls, root: Path, open_tenants: int = DEFAULT_MAX_OPEN, *, peers: bool = False
    ) -> "EngineContext":
        """With `peers`, job notifications also reach this data dir's other processes (the
        engine's other workers) and theirs reach this one, once `notifier.bus.listen` runs."""
        data_dir = DataDir(root)
        return cls(
            data_dir=data_dir,
            registry=Registry(data_dir.registry_path),
            tenants=Tenants(data_dir, open_tenants),
            signing_key=load_or_create_key(data_dir.signing_key_path),
            notifier=JobNotifier(PeerBus(data_dir.root) if peers else None),
        )

    def close(self) -> None:
        if self.notifier.bus is not None:
            self.notifier.bus.close()
        self.tenants.close()
        self.registry.db.close()
