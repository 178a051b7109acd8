"""The garbage collector of a serving process, set once start-up is done."""

import gc

# A request makes hundreds of short-lived containers; at Python's default (a young collection
# every 700 allocations) the collections showed in the engine's tail latency under load.
YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 50
OLD_THRESHOLD = 100


def settle_heap() -> None:
    """What start-up built lives as long as the process: the collector stops scanning it
    (gc.freeze), and collects young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
