"""The clock process: APScheduler runs the sweep and the backups, in this one process only."""

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler

from governance.maintenance import sweep
from governance.notifier import PeerBus
from tenants.backups import create_backup
from tenants.layout import DataDir
from tenants.registry import Registry
from tenants.tenant import DEFAULT_MAX_OPEN, Tenants

log = logging.getLogger("libervia.clock")


@dataclass(frozen=True)
class ClockSettings:
    data_dir: Path
    backup_dir: Path
    database_url: str | None
    sweep_seconds: float = 30
    backup_minutes: float = 60
    backup_keep: int = 14
    open_tenants: int = DEFAULT_MAX_OPEN
    retention_check_seconds: float = 3600

    @classmethod
    def from_env(cls) -> "ClockSettings":
        data_dir = Path(os.environ.get("LIBERVIA_DATA_DIR", "./var"))
        return cls(
            data_dir=data_dir,
            backup_dir=Path(os.environ.get("LIBERVIA_BACKUP_DIR") or data_dir / "backups"),
            database_url=os.environ.get("LIBERVIA_DATABASE_URL") or None,
            sweep_seconds=float(os.environ.get("CLOCK_SWEEP_SECONDS", "30")),
            backup_minutes=float(os.environ.get("CLOCK_BACKUP_MINUTES", "60")),
            backup_keep=int(os.environ.get("LIBERVIA_BACKUP_KEEP", "14")),
            open_tenants=int(os.environ.get("ENGINE_OPEN_TENANTS", DEFAULT_MAX_OPEN)),
            retention_check_seconds=float(os.environ.get("CLOCK_RETENTION_SECONDS", "3600")),
        )


class Clock:
    def __init__(self, settings: ClockSettings) -> None:
        self.settings = settings
        data_dir = DataDir(settings.data_dir)
        self.registry = Registry(data_dir.registry_path)
        self.tenants = Tenants(data_dir, settings.open_tenants)
        self.peers = PeerBus(settings.data_dir)  # re-queued jobs wake the engine's long-polls
        self._retention_at = -float("inf")
        self.stopping = threading.Event()  # set on SIGTERM: a running sweep ends early

    def sweep(self) -> None:
        now = time.monotonic()
        retention = now - self._retention_at >= self.settings.retention_check_seconds
        if retention:
            self._retention_at = now
        counts = sweep(
            self.registry,
            self.tenants,
            on_requeued=self.peers.publish,
            retention=retention,
            stopping=self.stopping.is_set,
        )
        if (
            counts.purges_proposed
            or counts.approvals_expired
            or counts.leases_requeued
            or counts.jobs_expired
            or counts.unavailable
        ):
            log.info("sweep", extra={"fields": vars(counts)})

    def backup(self) -> None:
        result = create_backup(
            self.settings.data_dir,
            self.settings.backup_dir,
            database_url=self.settings.database_url,
            keep=self.settings.backup_keep,
        )
        for institution_id, problem in result.broken_ledgers.items():
            log.error(
                "ledger does not verify",
                extra={"fields": {"institution_id": institution_id, "problem": problem}},
            )
        log.info(
            "backup taken",
            extra={
                "fields": {
                    "path": str(result.path),
                    "files": result.files,
                    "institutions": result.institutions,
                    "ledger_events": result.ledger_events,
                    "pruned": [p.name for p in result.pruned],
                }
            },
        )

    def scheduler(self) -> BlockingScheduler:
        scheduler = BlockingScheduler(
            timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1}
        )
        first = datetime.now(UTC)  # both run at once on start, then on their interval
        scheduler.add_job(
            self.sweep, "interval", seconds=self.settings.sweep_seconds, next_run_time=first
        )
        scheduler.add_job(
            self.backup, "interval", minutes=self.settings.backup_minutes, next_run_time=first
        )
        return scheduler

    def close(self) -> None:
        self.peers.close()
        self.tenants.close()
        self.registry.db.close()


def run(settings: ClockSettings) -> None:
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our own lines say what ran
    clock = Clock(settings)
    scheduler = clock.scheduler()

    def stop(*_: object) -> None:
        clock.stopping.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    log.info(
        "clock starting",
        extra={
            "fields": {
                "sweep_seconds": settings.sweep_seconds,
                "backup_minutes": settings.backup_minutes,
                "backup_dir": str(settings.backup_dir),
            }
        },
    )
    try:
        scheduler.start()
    finally:
        clock.close()
        log.info("clock stopped")
