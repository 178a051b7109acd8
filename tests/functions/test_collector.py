"""The collector setting of a serving process, in a process of its own (it is process-wide)."""

import json
import subprocess
import sys

from functions import collector

SHOW = (
    "import gc, json\n"
    "from functions.collector import settle_heap\n"
    "before = gc.get_freeze_count()\n"
    "settle_heap()\n"
    "print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold()]))\n"
)


def test_settle_heap_freezes_what_start_up_built_and_collects_young_objects_less_often() -> None:
    shown = subprocess.run([sys.executable, "-c", SHOW], capture_output=True, check=True, text=True)
    before, frozen, thresholds = json.loads(shown.stdout)
    assert before == 0
    assert frozen > 1000  # the modules start-up imported
    assert thresholds == [
        collector.YOUNG_THRESHOLD,
        collector.MIDDLE_THRESHOLD,
        collector.OLD_THRESHOLD,
    ]
