"""settle_heap freezes the long-lived heap and makes young collections rarer, and garbage still goes."""
from __future__ import annotations

import gc
import weakref

from mqtt_io.gc_tuning import settle_heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_settle_heap_freezes_raises_threshold_and_still_collects_new_cycles() -> None:
    before = gc.get_threshold()
    try:
        settle_heap(50_000)
        assert gc.get_threshold()[0] == max(before[0], 50_000)
        assert gc.get_freeze_count() > 0
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle made after the freeze
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
