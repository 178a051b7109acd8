"""Helper processes: work dealt to forked copies of the agent comes back whole and in place,
whatever a helper does (dies, fails, answers at length while being sent more); none is forked
while another thread runs; none outlives its job."""

import os
import signal
import threading
import time

import pytest

from agent.fs import FsError
from agent.fs.hash_cache import HashCache
from agent.fs.helpers import Share, helpers_allowed
from agent.fs.safe_root import SafeRoot

LATER = 60 * 10**9


def pid_of(root, cache, argument):
    return os.getpid(), argument


def waits_for_a_word(root, cache, fd):
    os.read(fd, 1)
    return os.getpid()


def echo(root, cache, argument):
    return argument


def refused_in_a_helper(root, cache, parent):
    if os.getpid() != parent:
        raise FsError("path_refused", "in a helper")
    return "done here"


def dies_in_a_helper(root, cache, parent):
    if os.getpid() != parent:
        os._exit(3)
    return "done here"


def keeps_a_hash(root, cache, name):
    st = os.stat(name, dir_fd=root.fd)
    cache.put(st, "ab" * 32)
    return name


def stops_in_a_helper(root, cache, parent):
    if os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGSTOP)  # it never answers
    return os.getpid()


@pytest.fixture
def root(tmp_path):
    with SafeRoot(tmp_path) as safe:
        yield safe


def children() -> set[int]:
    """This process's children, as the kernel lists them (zombies included)."""
    found = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as listed:
            found |= {int(pid) for pid in listed.read().split()}
    return found


def test_work_is_shared_and_every_result_comes_back_in_its_place(root):
    assert helpers_allowed() >= 1, "these machines have two cores; pytest runs one thread"
    with Share(root, helpers=1) as share:
        assert share.helpers == 1
        work = [(pid_of, n) for n in range(200)]
        results = dict(share.run(work))
    assert sorted(results) == list(range(200))
    assert [results[n][1] for n in range(200)] == list(range(200))
    assert len({pid for pid, _ in results.values()}) == 2, "this process and its helper"
    assert not children(), "the helper ended with the job"


def test_the_costliest_units_start_first(root):
    with Share(root, helpers=0) as share:
        order = [index for index, _ in share.run([(echo, n) for n in range(5)], [3, 9, 1, 7, 5])]
    assert order == [1, 3, 4, 0, 2]


def test_no_unit_waits_behind_a_much_costlier_one(root):
    """The costliest goes to the helper; the small ones are not queued behind it there, but
    done here meanwhile."""
    word, say = os.pipe()
    work = [(waits_for_a_word, word)] + [(pid_of, n) for n in range(10)]
    done: dict[int, int] = {}
    with Share(root, helpers=1) as share:
        for index, result in share.run(work, [100] + [1] * 10):
            done[index] = result if index == 0 else result[0]
            if len(done) == 10:  # all ten small ones, done here: the costly one may end now
                os.write(say, b"!")
    os.close(word)
    os.close(say)
    assert done[0] != os.getpid()
    assert {done[n] for n in range(1, 11)} == {os.getpid()}


def test_units_added_while_results_come_are_done_too(root):
    work = [(echo, 0)]
    with Share(root, helpers=1) as share:
        done = []
        for _, result in share.run(work):
            done.append(result)
            if result < 50:
                work += [(echo, result * 2 + 1), (echo, result * 2 + 2)]
    assert sorted(done) == list(range(len(work)))
    assert len(work) > 50


def test_long_answers_while_more_units_are_sent(root):
    """Both ends write more than a socket holds at once: neither waits for the other."""
    big = b"x" * 4_000_000
    with Share(root, helpers=1) as share:
        results = dict(share.run([(echo, big + bytes([n])) for n in range(12)]))
    assert all(results[n] == big + bytes([n]) for n in range(12))


def test_a_refusal_in_a_helper_is_raised_here_and_no_helper_is_left(root):
    with Share(root, helpers=1) as share, pytest.raises(FsError) as refusal:
        list(share.run([(refused_in_a_helper, os.getpid()) for _ in range(10)]))
    assert refusal.value.code == "path_refused"
    assert "raised in a helper process" in "".join(getattr(refusal.value, "__notes__", []))
    assert not children()


def test_the_units_of_a_helper_that_died_are_done_here(root):
    parent = os.getpid()
    with Share(root, helpers=1) as share:
        results = dict(share.run([(dies_in_a_helper, parent) for _ in range(20)]))
        assert share.helpers == 0
    assert results == dict.fromkeys(range(20), "done here")
    assert not children()


def test_hashes_a_helper_computes_are_kept_in_this_processs_cache(root, tmp_path):
    names = [f"f{n}" for n in range(40)]
    for name in names:
        (tmp_path / name).write_bytes(name.encode())
    cache = HashCache(tmp_path.parent / "state" / "hashes.db", clock=lambda: time.time_ns() + LATER)
    with Share(root, cache, helpers=1) as share:
        assert sorted(result for _, result in share.run([(keeps_a_hash, n) for n in names])) == (
            sorted(names)
        )
    for name in names:
        st = os.stat(tmp_path / name)
        key = (st.st_dev, st.st_ino)
        assert cache._kept()[key][3] == "ab" * 32


def test_a_job_left_midway_ends_its_busy_helpers(root):
    with Share(root, helpers=1) as share:
        run = share.run([(stops_in_a_helper, os.getpid()) for _ in range(10)])
        next(run)  # one unit done here; the helper has stopped itself on its first
    assert not children(), "a helper still working is killed, and reaped"


def test_no_helper_is_forked_while_another_thread_runs(root):
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert helpers_allowed() == 0
        with Share(root) as share:
            assert share.helpers == 0
            assert dict(share.run([(echo, n) for n in range(3)])) == {0: 0, 1: 1, 2: 2}
    finally:
        stop.set()
        other.join()
    assert helpers_allowed() >= 1
