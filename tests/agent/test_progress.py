"""The running job's progress reaches its listeners at once, then its latest state at most once
a tick, however long the job's own steps take."""

import threading

from agent.progress import ProgressReporter


def test_the_first_report_goes_at_once_then_only_the_latest_each_tick():
    told: list[dict] = []
    last = threading.Event()

    def sink(data):
        told.append(data)
        if data.get("done") == 499:
            last.set()

    with ProgressReporter(sink, every=0.05) as progress:
        progress.update({"phase": "scanning", "done": 1000})
        assert told == [{"phase": "scanning", "done": 1000}], "the first goes out at once"
        for done in range(1, 500):
            progress.update({"phase": "hashing", "done": done, "total": 500})
        assert last.wait(5), "the latest is told within a tick"
    assert told[-1] == {"phase": "hashing", "done": 499, "total": 500}
    assert len(told) < 10, "at most once a tick, not once an update"
    assert all(a != b for a, b in zip(told, told[1:], strict=False)), "nothing told twice"
