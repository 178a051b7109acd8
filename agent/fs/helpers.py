"""Helper processes: the reading and hashing of one job shared with copies of this process, one
per further core.

Threads of one process cannot read many small files side by side: each file is a few system
calls, and each call hands the GIL over (measured: two threads read 25,000 small files slower
than one). Copies of the process share no GIL. They are forked when a job starts, only on Linux
and only while this process runs a single thread: a fork copies the calling thread alone, so a
lock another thread held at that moment would stay held in the copy for ever (elsewhere,
system libraries may run threads of their own, so no copy is made there and the job's own
thread does all the work).

A helper inherits the job's open root folder; nothing else it inherits is touched. It is handed
units of work over a socket of its own, a function of this program and its argument at a time
(by pickle: both ends are the same program, and no other process holds the socket), and answers
with the result and with the hashes it would have kept in the hash cache, which this process
keeps. A unit a helper could not finish (it died) is done here. A helper ends when its socket
closes: when the job ends, or when this process is gone.
"""

import contextlib
import gc
import os
import pickle
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from agent.fs.hash_cache import Facts, HashCache, Keeper, facts_of
from agent.fs.safe_root import SafeRoot

# A unit of work: a function of a module (a helper finds it by name) and its argument; it is
# called with the root, the hash cache (or what stands for it in a helper) and the argument.
Task = Callable[[SafeRoot, Keeper | None, Any], Any]
Work = tuple[Task, Any]
T = TypeVar("T")

MAX_HELPERS = 7
THREAD_END_SECONDS = 0.05
UNITS_PER_WORKER = 16  # each process's share of a round of work, in units: short ones last
UNIT_FILES = 1000  # files in a unit at most, so that handing one over is short
# Units handed to a helper before it answers, so it never waits for the next one; but a unit is
# not queued behind one that costs more than twice as much (see Share._feed).
AHEAD = 2
_HEADER = struct.Struct("!I")


def helpers_allowed() -> int:
    """How many helpers this process may fork now: one per further core it may run on, none
    unless it is on Linux and runs a single thread."""
    if sys.platform != "linux" or not _single_threaded():
        return 0
    return max(0, min(MAX_HELPERS, len(os.sched_getaffinity(0)) - 1))


def _single_threaded() -> bool:
    """Counted by the kernel, so threads Python did not start count too. A thread Python has
    just joined can still be ending in the kernel for a moment (Python's threads are detached:
    nothing waits for that end): that moment is waited for, briefly."""
    if threading.active_count() > 1:
        return False
    deadline = time.monotonic() + THREAD_END_SECONDS
    while True:
        try:
            if len(os.listdir("/proc/self/task")) == 1:
                return True
        except OSError:
            return False
        if time.monotonic() > deadline:
            return False
        time.sleep(THREAD_END_SECONDS / 100)


class Recorder:
    """The hash cache as a helper has it: what would be kept goes back with the answer."""

    def __init__(self) -> None:
        self.kept: list[tuple[Facts, str, bool]] = []

    def put(self, st: os.stat_result, sha256: str, partial: bool = False) -> None:
        self.kept.append((facts_of(st), sha256, partial))


class _Helper:
    def __init__(self, pid: int, conn: socket.socket) -> None:
        self.pid, self.conn = pid, conn
        self.units: deque[int] = deque()  # handed to it, not answered yet


class Share:
    """Units of work done in this process and by its helpers (forked at once, `helpers` of them
    or as many as `helpers_allowed()`), the costliest first. Close it to end the helpers."""

    def __init__(
        self, root: SafeRoot, cache: HashCache | None = None, helpers: int | None = None
    ) -> None:
        self.root, self.cache = root, cache
        self._helpers: list[_Helper] = []
        for _ in range(helpers_allowed() if helpers is None else helpers):
            helper = _fork(root, self._helpers)
            if helper is None:
                break
            self._helpers.append(helper)

    @property
    def helpers(self) -> int:
        return len(self._helpers)

    @property
    def parts(self) -> int:
        """How many units to deal a round of work into."""
        return (len(self._helpers) + 1) * UNITS_PER_WORKER

    def __enter__(self) -> "Share":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the helpers: at once those still working (a unit left unread), the others when
        they read the end of their socket."""
        helpers, self._helpers = self._helpers, []
        for helper in helpers:
            if helper.units:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(helper.pid, signal.SIGKILL)
            helper.conn.close()
        for helper in helpers:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(helper.pid, 0)

    def run(
        self, work: list[Work], costs: Sequence[int] | None = None
    ) -> Iterator[tuple[int, Any]]:
        """(index, result) of every unit of `work`, in the order they are done; the caller may
        add units to `work` as results come. With `costs`, the units given at first are
        started costliest first, so the last ones to end are short and nobody waits long."""
        queue = deque(range(len(work)))
        if costs is not None:
            queue = deque(sorted(queue, key=costs.__getitem__, reverse=True))
        known = len(work)
        while True:
            queue.extend(range(known, len(work)))
            known = len(work)
            for helper in self._helpers:
                self._feed(helper, work, queue, costs)
            if queue:
                index = queue.popleft()
                task, argument = work[index]
                yield index, task(self.root, self.cache, argument)
            elif not any(helper.units for helper in self._helpers):
                return
            yield from self._answers(work, queue, costs, wait=not queue and len(work) == known)

    def _feed(
        self,
        helper: _Helper,
        work: Sequence[Work],
        queue: deque[int],
        costs: Sequence[int] | None,
    ) -> None:
        """Hand the helper the next units, AHEAD at most. Not one behind a unit that costs
        more than twice as much: the helper would start it late, while this process, done with
        all else, waited for it (a listing's last thousand small files behind a large video)."""
        while queue and len(helper.units) < AHEAD:
            if helper.units and _costlier(costs, helper.units[-1], queue[0]):
                return
            index = queue.popleft()
            try:
                _send(helper.conn, (*work[index], self.cache is not None))
            except OSError:  # it is gone: done here
                queue.appendleft(index)
                return
            helper.units.append(index)

    def _answers(
        self,
        work: Sequence[Work],
        queue: deque[int],
        costs: Sequence[int] | None,
        *,
        wait: bool,
    ) -> Iterator[tuple[int, Any]]:
        busy = {helper.conn: helper for helper in self._helpers if helper.units}
        if not busy:
            return
        ready, _, _ = select.select(list(busy), [], [], None if wait else 0)
        for conn in ready:
            helper = busy[conn]
            answer = _receive(conn)
            if answer is None:  # it died: its units are done here
                queue.extendleft(reversed(helper.units))
                helper.units.clear()
                self._helpers.remove(helper)
                conn.close()
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(helper.pid, 0)
                continue
            index = helper.units.popleft()
            if not answer[0]:
                raise answer[1]
            if self.cache is not None:
                for facts, sha256, partial in answer[2]:
                    self.cache.keep(facts, sha256, partial)
            self._feed(helper, work, queue, costs)
            yield index, answer[1]


def _costlier(costs: Sequence[int] | None, held: int, next_one: int) -> bool:
    """Whether the unit a helper holds costs more than twice the next (costs: of the units
    given at first)."""
    if costs is None or held >= len(costs) or next_one >= len(costs):
        return False
    return costs[held] > 2 * costs[next_one]


def dealt(items: list[T], cost: Callable[[T], int], parts: int) -> list[tuple[list[T], int]]:
    """`items` in about `parts` units of like cost, of at most UNIT_FILES items (one costlier
    than a unit should be is a unit of its own), each with its cost."""
    costs = list(map(cost, items))
    target = max(1, sum(costs) // parts)
    units: list[tuple[list[T], int]] = []
    batch: list[T] = []
    spent = 0
    for item, item_cost in zip(items, costs, strict=True):
        if item_cost >= target:
            units.append(([item], item_cost))
            continue
        batch.append(item)
        spent += item_cost
        if spent >= target or len(batch) >= UNIT_FILES:
            units.append((batch, spent))
            batch, spent = [], 0
    if batch:
        units.append((batch, spent))
    return units


def _fork(root: SafeRoot, others: list[_Helper]) -> _Helper | None:
    mine, theirs = socket.socketpair()
    try:
        pid = os.fork()
    except OSError:  # no memory or no process left for one: the work is done here
        mine.close()
        theirs.close()
        return None
    if pid == 0:
        status = 1
        try:
            mine.close()
            for other in others:  # their ends would keep them from seeing this process end
                other.conn.close()
            _serve(theirs, root)
            status = 0
        finally:
            os._exit(status)  # nothing of the job's process is cleaned up from here
    theirs.close()
    return _Helper(pid, mine)


def _serve(conn: socket.socket, root: SafeRoot) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    gc.disable()  # it lives for one job
    channel = _Channel(conn)
    while (message := channel.receive()) is not None:
        task, argument, keeping = message
        recorder = Recorder() if keeping else None
        try:
            result = task(root, recorder, argument)
            answer: tuple[Any, ...] = (True, result, recorder.kept if recorder else [])
        except Exception as exc:
            exc.add_note(f"raised in a helper process:\n{traceback.format_exc()}")
            answer = (False, exc)
        channel.send(answer)


class _Channel:
    """A helper's end of its socket. While it sends an answer it also reads what comes in: the
    job's process may be sending the next unit at that moment, and if both waited for the other
    to read, neither would."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn, self.inbox = conn, bytearray()

    def receive(self) -> Any:
        """The next message, or None at the end (the job's process closed the socket)."""
        while True:
            if len(self.inbox) >= _HEADER.size:
                size = _HEADER.size + _HEADER.unpack_from(self.inbox)[0]
                if len(self.inbox) >= size:
                    message = pickle.loads(memoryview(self.inbox)[_HEADER.size : size])
                    del self.inbox[:size]
                    return message
            if not self._read():
                return None

    def send(self, message: object) -> None:
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        left = memoryview(_HEADER.pack(len(data)) + data)
        while left:
            readable, writable, _ = select.select([self.conn], [self.conn], [])
            if readable and not self._read():
                return  # the job's process is gone: nobody to answer
            if writable:
                with contextlib.suppress(BlockingIOError):  # what fits, not all: no waiting
                    left = left[self.conn.send(left, socket.MSG_DONTWAIT) :]

    def _read(self) -> bool:
        try:
            data = self.conn.recv(1 << 16)
        except ConnectionResetError:
            return False
        self.inbox += data
        return bool(data)


def _send(conn: socket.socket, message: object) -> None:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    conn.sendall(_HEADER.pack(len(data)))
    conn.sendall(data)


def _receive(conn: socket.socket) -> Any:
    """The next message from a helper, or None when it is gone."""
    head = _exactly(conn, _HEADER.size)
    if head is None:
        return None
    data = _exactly(conn, _HEADER.unpack(head)[0])
    return None if data is None else pickle.loads(data)


def _exactly(conn: socket.socket, size: int) -> bytearray | None:
    data = bytearray(size)
    view, got = memoryview(data), 0
    while got < size:
        try:
            read = conn.recv_into(view[got:])
        except ConnectionResetError:
            return None
        if not read:
            return None
        got += read
    return data
