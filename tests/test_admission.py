"""Fair admission: requests take their turns in arrival order, a few at a time, and step
out while they wait on something else."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from chalicelib.admission import FairAdmission, SteppingOutDispatcher
from chalicelib.services.dispatch import RecordingDispatcher
from tests.local.conftest import wait_until


def in_background(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def queue_up(admission: FairAdmission, work: Callable[[], None]) -> threading.Thread:
    """Start `work` inside the admission, once the thread has taken its place in line."""
    before = admission.waiting

    def admitted() -> None:
        with admission:
            work()

    thread = in_background(admitted)
    wait_until(lambda: admission.waiting == before + 1, deadline_seconds=10)
    return thread


def test_those_in_line_are_admitted_in_the_order_they_came() -> None:
    admission = FairAdmission(slots=1)
    order: list[int] = []
    with admission:
        threads = [queue_up(admission, lambda number=number: order.append(number))
                   for number in range(6)]
    for thread in threads:
        thread.join(10)

    assert order == [0, 1, 2, 3, 4, 5]


def test_no_more_than_the_slots_are_inside_at_once() -> None:
    admission = FairAdmission(slots=2)
    inside = [threading.Event(), threading.Event()]
    go_on = threading.Event()

    def stay(number: int) -> None:
        with admission:
            inside[number].set()
            go_on.wait(10)

    first, second = in_background(lambda: stay(0)), in_background(lambda: stay(1))
    assert inside[0].wait(10) and inside[1].wait(10)
    third_inside = threading.Event()
    third = queue_up(admission, third_inside.set)

    assert not third_inside.is_set() and admission.waiting == 1
    go_on.set()
    assert third_inside.wait(10)
    for thread in (first, second, third):
        thread.join(10)
    assert admission.waiting == 0


def test_stepping_out_lets_the_next_in_and_queues_again_at_the_back() -> None:
    admission = FairAdmission(slots=1)
    order: list[str] = []
    stepped_out, may_return, quick_may_finish = threading.Event(), threading.Event(), threading.Event()

    def long_poll() -> None:
        order.append("poll looks")
        with admission.stepped_out():
            stepped_out.set()
            may_return.wait(10)
        order.append("poll looks again")

    def quick_request() -> None:
        order.append("quick request")
        quick_may_finish.wait(10)

    with admission:
        poll = queue_up(admission, long_poll)
        quick = queue_up(admission, quick_request)
    assert stepped_out.wait(10)
    wait_until(lambda: order == ["poll looks", "quick request"], deadline_seconds=10)
    later = queue_up(admission, lambda: order.append("later request"))
    may_return.set()
    wait_until(lambda: admission.waiting == 2, deadline_seconds=10)  # the poll, behind
    quick_may_finish.set()
    for thread in (poll, quick, later):
        thread.join(10)

    assert order == ["poll looks", "quick request", "later request", "poll looks again"]


def test_stepping_out_without_a_place_is_a_plain_call() -> None:
    admission = FairAdmission(slots=1)
    with admission.stepped_out():
        assert not admission.holds_slot
    admission.sleep(0)

    with admission:
        assert admission.holds_slot
    assert not admission.holds_slot


def test_a_thread_cannot_enter_twice() -> None:
    admission = FairAdmission(slots=2)
    with admission, pytest.raises(RuntimeError, match="already admitted"), admission:
        pass


def test_an_admission_without_slots_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        FairAdmission(slots=0)


class EngineThatStalls(RecordingDispatcher):
    def __init__(self) -> None:
        super().__init__()
        self.stopping = threading.Event()
        self.stopped = threading.Event()

    def cancel(self, run_id: str) -> None:
        self.stopping.set()
        self.stopped.wait(10)
        super().cancel(run_id)


def test_a_cancel_waiting_on_the_engine_holds_up_no_other_request() -> None:
    admission = FairAdmission(slots=1)
    engine = EngineThatStalls()
    dispatcher = SteppingOutDispatcher(engine, admission)

    def cancel() -> None:
        with admission:
            dispatcher.cancel("run-1")

    cancelling = in_background(cancel)
    assert engine.stopping.wait(10)
    answered = threading.Event()

    def other_request() -> None:
        with admission:
            answered.set()

    other = in_background(other_request)

    assert answered.wait(10), "another request got in while the engine stopped containers"
    engine.stopped.set()
    for thread in (cancelling, other):
        thread.join(10)
    assert engine.cancelled == ["run-1"]
    dispatcher.submit("run-2")
    assert engine.submitted == ["run-2"]
