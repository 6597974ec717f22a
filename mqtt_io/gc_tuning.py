"""Keep Python's cyclic garbage collector from pausing processes that hold large, long-lived heaps.

A server with its models and caches, or a simulator with ten thousand devices, keeps millions of objects for
its whole life. With the default thresholds (a collection every 700 net allocations) the GC ran over a
thousand times per fan-out and its full collections walked the whole fleet: up to half a second each, with
nothing to free. Freezing what exists after start-up takes it out of every collection; a higher young
threshold makes collections of the rest rarer. Garbage cycles are still collected, just in larger batches.
"""
from __future__ import annotations

import gc


def settle_heap(young_threshold: int) -> None:
    """Collect once, freeze what survives, and collect the young generation every `young_threshold` net
    allocations from then on."""
    gc.collect()  # garbage frozen now would never be freed
    gc.freeze()
    threshold0, threshold1, threshold2 = gc.get_threshold()
    gc.set_threshold(max(threshold0, young_threshold), threshold1, threshold2)
