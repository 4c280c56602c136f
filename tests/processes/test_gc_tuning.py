"""Long-running processes tune the garbage collector once start-up is done (see gateway.gc_tuning)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gateway.gc_tuning import YOUNG_THRESHOLD, tune_for_serving


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.enable()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_tuning_freezes_what_start_up_built_and_raises_only_the_young_threshold() -> None:
    _, older, oldest = gc.get_threshold()
    tune_for_serving()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, older, oldest)


@pytest.mark.usefixtures("restored_gc")
def test_garbage_cycles_are_still_collected_without_anyone_asking() -> None:
    tune_for_serving()
    collections: list[str] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            collections.append(phase)

    class Node:
        partner: object

    gc.callbacks.append(count)
    try:
        for _ in range(3 * YOUNG_THRESHOLD):  # cycles: reference counting alone never frees them
            first, second = Node(), Node()
            first.partner, second.partner = second, first
    finally:
        gc.callbacks.remove(count)
    assert gc.isenabled()
    assert collections, "no automatic collection ran"
