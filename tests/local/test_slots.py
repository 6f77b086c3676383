"""The machine's bound on containers: read from the environment, and a pool whose waiters a
stop lets go."""

from __future__ import annotations

import threading

import pytest

from chalicelib.errors import InvalidRequest
from chalicelib.local.slots import ContainerSlots, machine_bound


def test_the_bound_is_four_containers_per_core_unless_the_variable_says() -> None:
    assert machine_bound({}, cores=2) == 8
    assert machine_bound({"CONTAINEROPS_MAX_CONTAINERS": "3"}, cores=2) == 3


@pytest.mark.parametrize("text", ["0", "-1", "many", "2.5"])
def test_a_bound_that_is_no_whole_number_of_one_or_more_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequest, match="CONTAINEROPS_MAX_CONTAINERS"):
        machine_bound({"CONTAINEROPS_MAX_CONTAINERS": text})


def test_a_slot_given_back_lets_the_next_waiter_take_it() -> None:
    slots, never = ContainerSlots(1), threading.Event()
    assert slots.take(never)
    took: list[bool] = []
    waiter = threading.Thread(target=lambda: took.append(slots.take(never)))
    waiter.start()
    slots.give_back()
    waiter.join(timeout=5)
    assert took == [True] and slots.taken == 1 and slots.peak == 1


def test_a_waiter_that_is_stopped_takes_nothing() -> None:
    slots, stopped = ContainerSlots(1), threading.Event()
    assert slots.take(threading.Event())
    took: list[bool] = []
    waiter = threading.Thread(target=lambda: took.append(slots.take(stopped)))
    waiter.start()
    stopped.set()
    slots.wake()
    waiter.join(timeout=5)
    assert took == [False] and slots.taken == 1


def test_a_container_found_running_is_counted_even_over_the_bound() -> None:
    slots = ContainerSlots(1)
    assert slots.take(threading.Event())
    slots.take_now()
    assert (slots.taken, slots.peak) == (2, 2)
