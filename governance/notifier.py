"""Waking an institution's long-polls when one of its jobs becomes available: in this process,
and in the engine's other worker processes (and from the clock) through `PeerBus`."""

import asyncio
import contextlib
import hashlib
import os
import socket
import threading
import time
from pathlib import Path

from governance.idle_polls import IdlePolls

PEERS_REFRESH_SECONDS = 1.0


class PeerBus:
    """Processes sharing a data dir tell each other which institution has a new job.

    Each process binds a Unix datagram socket in the abstract namespace (no file to clean up,
    no path length limit) named after the data dir, its host and its pid, and leaves
    `<host>-<pid>` in `DATA_DIR/run/`. A message is the institution id. Abstract sockets live
    in a network namespace: processes of another host (another container sharing the volume)
    are not reachable and are left alone; a peer of this host that no longer answers is gone,
    and forgotten."""

    def __init__(self, data_dir: Path, identity: int | None = None) -> None:
        self.run_dir = Path(data_dir) / "run"
        self.run_dir.mkdir(mode=0o700, exist_ok=True)
        self._key = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
        self.host = socket.gethostname()
        self.name = f"{self.host}-{os.getpid() if identity is None else identity}"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self._address(self.name))
        self._sock.setblocking(False)
        (self.run_dir / self.name).touch()
        self._peers: list[str] = []
        self._peers_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    def _address(self, name: str) -> bytes:
        return f"\0libervia-{self._key}-{name}".encode()

    def listen(self, on_message: "JobNotifier") -> None:
        """Deliver peers' messages to `on_message` (call on the running event loop)."""
        self._loop = asyncio.get_running_loop()

        def receive() -> None:
            while True:
                try:
                    data = self._sock.recv(256)
                except BlockingIOError:
                    return
                on_message.wake(data.decode("ascii", "replace"))

        self._loop.add_reader(self._sock.fileno(), receive)

    def _current_peers(self) -> list[str]:
        """Peers on this host (reachable through its abstract namespace)."""
        now = time.monotonic()
        if now - self._peers_at > PEERS_REFRESH_SECONDS:
            self._peers = [
                entry.name
                for entry in self.run_dir.iterdir()
                if entry.name != self.name and entry.name.rpartition("-")[0] == self.host
            ]
            self._peers_at = now
        return self._peers

    def publish(self, institution_id: str) -> None:
        message = institution_id.encode()
        for name in self._current_peers():
            try:
                self._sock.sendto(message, self._address(name))
            except (ConnectionRefusedError, FileNotFoundError):
                (self.run_dir / name).unlink(missing_ok=True)  # that process is gone
                self._peers_at = 0.0
            except OSError:
                pass  # a busy peer re-checks on its own within a second

    def close(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        (self.run_dir / self.name).unlink(missing_ok=True)


class JobNotifier:
    """Wakes long-polls of an institution when one of its jobs becomes available, or its
    actors change: they look again, and what idle polls remembered of it is forgotten."""

    def __init__(self, bus: PeerBus | None = None) -> None:
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()
        self.bus = bus
        self.idle = IdlePolls()

    def register(self, institution_id: str) -> asyncio.Event:
        event = asyncio.Event()
        with self._lock:
            self._waiters.setdefault(institution_id, set()).add((asyncio.get_running_loop(), event))
        return event

    def unregister(self, institution_id: str, event: asyncio.Event) -> None:
        with self._lock:
            waiters = self._waiters.get(institution_id, set())
            for item in [w for w in waiters if w[1] is event]:
                waiters.discard(item)
            if not waiters:
                self._waiters.pop(institution_id, None)

    def wake(self, institution_id: str) -> None:
        """Wake this process's long-polls of the institution. Callable from any thread."""
        self.idle.forget(institution_id)
        with self._lock:
            waiters = list(self._waiters.get(institution_id, ()))
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def notify(self, institution_id: str) -> None:
        """A job of the institution is available, or its actors changed: wake its long-polls
        here and in peers."""
        self.wake(institution_id)
        if self.bus is not None:
            self.bus.publish(institution_id)
