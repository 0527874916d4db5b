"""Page-level parallelism (core.parallel.ordered_map): order, bounded look-ahead, errors, inline single worker."""

import threading
import time

import pytest

from doc_pipeline.core.parallel import ordered_map


def test_results_come_back_in_input_order_even_when_later_items_finish_first():
    delays = [0.05, 0.0, 0.03, 0.0, 0.01, 0.0]
    out = list(ordered_map(lambda i: (time.sleep(delays[i]), i)[1], range(len(delays)), workers=2))
    assert out == list(range(len(delays)))


def test_items_are_consumed_lazily_with_at_most_max_in_flight_ahead():
    taken, yielded = [], []

    def pages():  # stands for the renderer: each item is a page image in memory
        for i in range(20):
            taken.append(i)
            yield i

    for r in ordered_map(lambda i: i * 2, pages(), workers=2, max_in_flight=3):
        yielded.append(r)
        assert len(taken) - len(yielded) <= 3  # never more than 3 pages rendered and not yet handed back
    assert yielded == [i * 2 for i in range(20)]


def test_work_runs_on_several_threads():
    seen = set()
    barrier = threading.Barrier(2, timeout=5)

    def work(i):
        seen.add(threading.get_ident())
        barrier.wait()  # would time out if the two items did not run at the same time
        return i

    assert list(ordered_map(work, range(2), workers=2)) == [0, 1]
    assert len(seen) == 2


def test_an_error_in_one_item_reaches_the_caller():
    def work(i):
        if i == 3:
            raise ValueError("page 3 is broken")
        return i

    with pytest.raises(ValueError, match="page 3"):
        list(ordered_map(work, range(8), workers=2))


def test_one_worker_runs_inline_in_the_callers_thread():
    caller = threading.get_ident()
    assert set(ordered_map(lambda i: threading.get_ident(), range(3), workers=1)) == {caller}
