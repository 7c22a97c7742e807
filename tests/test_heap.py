"""The server process's garbage-collector settings (simtrain/heap.py)."""

from __future__ import annotations

import gc

from simtrain import heap


def test_settle_freezes_what_startup_built_and_makes_full_collections_rare():
    before = gc.get_threshold()
    try:
        heap.settle()
        assert gc.get_freeze_count() > 10_000  # Django, the URL conf, the modules
        assert gc.get_threshold() == heap.THRESHOLDS
        assert heap.THRESHOLDS[0] > before[0] and heap.THRESHOLDS[2] > before[2]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
