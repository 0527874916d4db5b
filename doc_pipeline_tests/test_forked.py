"""doc_pipeline/forked.py: work in forked children (what `doc-pipeline process` runs its groups of documents in)."""

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from doc_pipeline.cli import proc_stat_fields
from doc_pipeline.forked import run_forked


def _sleep_then_report(item):
    t0 = time.time()
    time.sleep(0.3)
    return {"item": item, "pid": os.getpid(), "start": t0, "end": time.time()}


def test_every_item_in_its_own_child_at_most_workers_at_once():
    outcomes = list(run_forked(_sleep_then_report, range(5), workers=2))
    assert sorted(o.item for o in outcomes) == list(range(5))
    assert all(o.ok and o.reason is None and o.value["item"] == o.item for o in outcomes)
    pids = {o.value["pid"] for o in outcomes}
    assert len(pids) == 5 and os.getpid() not in pids
    spans = [(o.value["start"], o.value["end"]) for o in outcomes]
    most = max(sum(s <= t < e for s, e in spans) for t, _ in spans)
    assert most == 2, spans  # two at a time, never three
    assert all(o.wall_s >= 0.3 for o in outcomes)


def _big(item):
    return b"x" * (3 << 20)  # more than a pipe holds: the parent must read while the child writes


def test_a_large_result_comes_back_whole():
    (o,) = run_forked(_big, [0], workers=1)
    assert o.ok and len(o.value) == 3 << 20


def _fail(item):
    if item == "raise":
        raise ValueError("bad document")
    if item == "exit":
        os._exit(3)
    os.kill(os.getpid(), signal.SIGKILL)


def test_how_a_child_ended_is_reported():
    got = {o.item: o for o in run_forked(_fail, ["raise", "exit", "kill"], workers=3)}
    assert not any(o.ok for o in got.values()) and all(o.value is None for o in got.values())
    assert got["raise"].reason == "exit status 1"
    assert got["exit"].reason == "exit status 3"
    assert got["kill"].reason == "killed by signal 9 (SIGKILL)"



def _start_then_end(item):
    """Start a process that holds our stdout (as Dagster's compute-log `tail -F` does), then end as `item` says."""
    sleeper = subprocess.Popen(["sleep", "300"])
    with open(f"{item['pids']}", "a") as fh:
        fh.write(f"{sleeper.pid}\n")
    if item["end"] == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    return item["end"]


def _alive(pid: int) -> bool:
    fields = proc_stat_fields(f"/proc/{pid}/stat")
    return fields is not None and fields[0] not in ("Z", "X")


@pytest.mark.parametrize("end", ["killed", "returned"])
def test_what_a_child_started_does_not_outlive_it(tmp_path, end):
    """A child killed mid-run cannot stop what it started; left running, such a process (Dagster's log `tail`)
    kept the command's stdout open and `doc-pipeline process ... | reader` never ended. The parent stops it."""
    pids = tmp_path / "pids"
    pids.touch()
    (o,) = run_forked(_start_then_end, [{"pids": str(pids), "end": end}], workers=1)
    assert o.ok == (end == "returned")
    (sleeper,) = [int(x) for x in pids.read_text().split()]
    deadline = time.monotonic() + 5
    while _alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(sleeper)

def _quick_or_long(item):
    if item:
        time.sleep(60)
    return item


@pytest.mark.parametrize("parent_sigterm", [signal.SIG_DFL, signal.SIG_IGN])
def test_children_are_terminated_when_the_caller_stops_early(parent_sigterm):
    """A caller that stops (an exception, Ctrl-C) while children run: they are terminated and reaped at once, also
    when the parent ignores SIGTERM (a process started in the background whose earlier Dagster runs mapped SIGTERM
    to an ignored SIGINT): the children would otherwise wait out the 30 s grace before SIGKILL."""
    already = _my_children()  # a forkserver an earlier test started, say
    old = signal.signal(signal.SIGTERM, parent_sigterm)
    try:
        before = time.monotonic()
        outcomes = run_forked(_quick_or_long, [0, 1, 1], workers=3)
        first = next(outcomes)
        assert first.ok and first.value == 0
        time.sleep(0.2)  # the children are in their function, with their own handler
        outcomes.close()
        assert time.monotonic() - before < 10
    finally:
        signal.signal(signal.SIGTERM, old)
    left = _my_children() - already
    assert not left, left  # none left running, none left a zombie


def _my_children() -> set[str]:
    return {p for p in os.listdir("/proc") if p.isdigit() and (proc_stat_fields(f"/proc/{p}/stat") or ["", ""])[1]
            == str(os.getpid())}


def test_a_child_gets_its_own_database_connections(tmp_path):
    """The parent's pooled SQLite connection is not used by the child (register_at_fork in db.session): the child
    starts with an empty pool, writes through its own connection, and the parent's keeps working."""
    from doc_pipeline.db.session import Database

    db = Database(f"sqlite:///{tmp_path / 'x.db'}", migrate=False)
    with db.begin() as c:
        c.execute(text("CREATE TABLE t (v INTEGER)"))
    assert db.engine.pool.checkedin() == 1  # the parent's connection, kept in the pool

    def child(_):
        idle = db.engine.pool.checkedin()
        with db.begin() as c:
            c.execute(text("INSERT INTO t VALUES (1)"))
        return idle

    (o,) = run_forked(child, [0], workers=1)
    assert o.ok and o.value == 0
    with db.begin() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar() == 1


def test_a_child_makes_its_own_object_store_clients(tmp_path):
    from doc_pipeline.resources import _STORES, _cached_store
    from doc_pipeline.settings import Settings

    _cached_store(Settings(home=tmp_path))
    assert _STORES
    (o,) = run_forked(lambda _: len(_STORES), [0], workers=1)
    assert o.ok and o.value == 0


def test_a_process_with_threads_or_engines_does_not_fork():
    probe = (
        "import threading, time\n"
        "from doc_pipeline.forked import fork_unsafe_reason\n"
        "assert fork_unsafe_reason() is None, fork_unsafe_reason()\n"
        "t = threading.Thread(target=time.sleep, args=(0.5,)); t.start()\n"
        "assert 'threads running' in fork_unsafe_reason(); t.join()\n"
        "assert fork_unsafe_reason() is None\n"
        "import onnxruntime\n"
        "assert 'onnxruntime' in fork_unsafe_reason(), fork_unsafe_reason()\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def _handler_name(_):
    return repr(signal.getsignal(signal.SIGTERM))


def test_children_keep_the_processs_own_sigterm_handling_and_the_parent_gets_it_back():
    """While children run, SIGTERM to the parent stops them (test_cli.py::test_terminating_the_command_stops_its_
    workers); a child handles SIGTERM as the process did before, also one forked while an earlier run_forked is
    still going (the command re-runs a dead worker's documents that way), and the handler is put back after."""
    def mine(signum, frame):
        pass

    before = signal.signal(signal.SIGTERM, mine)
    try:
        outer = run_forked(_handler_name, [0, 1], workers=1)
        first = next(outer)
        assert first.value == repr(mine) and signal.getsignal(signal.SIGTERM) is not mine  # the parent's guard
        (inner,) = run_forked(_handler_name, [0], workers=1)
        assert inner.value == repr(mine)
        assert [o.value for o in outer] == [repr(mine)]
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_failed_fork_waits_for_a_running_child_instead_of_losing_the_item(monkeypatch):
    """fork() can fail for a moment (EAGAIN: the process limit, ENOMEM): the item waits for a running child to
    end and is forked then; with no child running the error is raised, not swallowed."""
    real, calls = os.fork, []

    def flaky_fork():
        calls.append(1)
        if len(calls) == 2:  # the second fork fails while the first child runs
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return real()

    monkeypatch.setattr(os, "fork", flaky_fork)
    outcomes = list(run_forked(_sleep_then_report, [1, 2, 3], workers=2))
    assert sorted(o.item for o in outcomes) == [1, 2, 3] and all(o.ok for o in outcomes)
    monkeypatch.setattr(os, "fork", lambda: (_ for _ in ()).throw(BlockingIOError(11, "no processes")))
    with pytest.raises(BlockingIOError):
        list(run_forked(_sleep_then_report, [1], workers=1))
