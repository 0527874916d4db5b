"""Work in forked child processes, for `doc-pipeline process` (and the benchmarks built on it).

Much of a native page's work is Python under the GIL (the text layer, the layout from it, the tables, fields and
Dagster's bookkeeping), so threads keep one core busy; a child process per run uses every core. Children are forked
from a parent that has imported the pipeline and opened the instance but never run a step: no interpreter start,
no imports and no instance set-up per child, and no engine threads (OpenVINO, ONNX Runtime, OpenMP) to carry over
a fork. A child that dies (a crash in a native library, the OOM killer) takes only its own run with it; the parent
sees how it ended.

Resources opened before the fork are replaced in the child rather than shared: the metadata DB's pooled
connections (`Database`), the object-store clients (boto3's connection pools) and the page thread pools register
their own reset with `os.register_at_fork`; Dagster's SQLite run storage opens a connection per call and our
event-log storage re-opens its engines in a new process (`dagster_storage`).
"""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")

# native thread pools that do not survive a fork: once one of these has run in a process, it forks no children
_UNSAFE_MODULES = ("openvino", "onnxruntime", "tesserocr", "torch")


def fork_unsafe_reason() -> str | None:
    """Why this process must not fork workers now (None when it may)."""
    if not hasattr(os, "fork") or sys.platform != "linux":
        return "fork() is only used on Linux"
    if threading.active_count() > 1:  # a thread may hold a lock (logging, a pool, stdout) the child would inherit
        return f"{threading.active_count()} threads running"
    loaded = [m for m in _UNSAFE_MODULES if m in sys.modules]
    if loaded:
        return f"engines loaded in this process ({', '.join(loaded)})"
    return None


@dataclass
class ChildOutcome(Generic[T]):
    item: T
    ok: bool  # the child returned normally
    reason: str | None  # how it ended otherwise: "exit status 1", "killed by signal 9 (SIGKILL)"
    value: Any  # what the function returned (None unless ok)
    wall_s: float
    cpu_s: float  # the child's own CPU (user + system) from wait4


def _exit_reason(status: int) -> str | None:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = "?"
        return f"killed by signal {sig} ({name})"
    code = os.waitstatus_to_exitcode(status)
    return None if code == 0 else f"exit status {code}"


def _child(fn: Callable[[T], Any], item: T, r: int, w: int, sigterm) -> None:
    """The child's whole life: it never returns into the parent's code (os._exit whatever happens)."""
    code = 1
    try:
        os.setpgid(0, 0)  # its own process group: what it starts can be found and stopped when it ends
        os.close(r)
        if sigterm is not None:  # the child's own runs handle SIGTERM as they would in the parent, but a worker
            # always stops when its parent stops it (a parent that ignores SIGTERM still gets a stoppable child)
            signal.signal(signal.SIGTERM, signal.SIG_DFL if sigterm == signal.SIG_IGN else sigterm)
        data = pickle.dumps(fn(item))
        with os.fdopen(w, "wb") as fh:
            fh.write(data)
        code = 0
    except KeyboardInterrupt:  # told to stop (its run interrupted by the parent's SIGTERM): no traceback
        code = 128 + signal.SIGINT
    except BaseException:  # noqa: BLE001 - reported by the exit status; the traceback goes to stderr
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)  # no atexit handlers, no finalisers of the parent's objects


def run_forked(fn: Callable[[T], Any], items: Iterable[T], workers: int) -> Iterator[ChildOutcome[T]]:
    """`fn(item)` for every item, each in its own forked child, at most `workers` at once; outcomes in the order
    the children end. `fn`'s return value comes back pickled through a pipe. If the caller stops early (an
    exception, Ctrl-C), the children still running are terminated and reaped."""
    pending = list(items)
    pending.reverse()
    running: dict[int, tuple[int, T, float, list[bytes]]] = {}  # read fd -> (pid, item, start, chunks)
    sel = selectors.DefaultSelector()
    restore, child_sigterm = _terminate_raises()
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                item = pending.pop()
                r, w = os.pipe()
                try:
                    pid = os.fork()
                except OSError:  # no process to be had now (EAGAIN, ENOMEM): wait for one to end, else give up
                    os.close(r)
                    os.close(w)
                    if not running:
                        raise
                    pending.append(item)
                    break
                if pid == 0:  # the child
                    _child(fn, item, r, w, child_sigterm)
                os.close(w)
                running[r] = (pid, item, time.perf_counter(), [])
                sel.register(r, selectors.EVENT_READ)
            for key, _ in sel.select():
                r = key.fd
                data = os.read(r, 1 << 20)
                if data:
                    running[r][3].append(data)
                    continue
                sel.unregister(r)
                os.close(r)
                pid, item, t0, chunks = running.pop(r)
                _, status, usage = os.wait4(pid, 0)
                _stop_group(pid)
                reason = _exit_reason(status)
                value = pickle.loads(b"".join(chunks)) if reason is None and chunks else None
                yield ChildOutcome(item, reason is None, reason, value, time.perf_counter() - t0,
                                   usage.ru_utime + usage.ru_stime)
    finally:
        for r, (pid, *_rest) in running.items():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for r, (pid, *_rest) in running.items():
            _reap(pid)
            _stop_group(pid)
            os.close(r)
        sel.close()
        if restore is not None:
            signal.signal(signal.SIGTERM, restore)


class Terminated(SystemExit):
    """SIGTERM reached the parent while its children ran (raised so that they are stopped first)."""


def _terminate_raises():
    """While children run, SIGTERM to the parent (`kill`, a supervisor stopping it) raises Terminated, so the
    children are stopped and reaped instead of left running on their own. Returns (the handler to put back when
    done, the one a child should have: the process's own from before any run_forked); (None, None) where handlers
    cannot be set (not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None, None
    parent = os.getpid()
    previous = signal.getsignal(signal.SIGTERM)
    if previous is None:  # set outside Python: it could not be put back
        return None, None
    original = getattr(previous, "original", previous)  # run_forked inside run_forked: the process's own

    def _raise(signum, frame):
        if os.getpid() != parent:  # a child that has not put its own handler back yet
            os._exit(128 + signum)
        raise Terminated(128 + signum)

    _raise.original = original  # type: ignore[attr-defined]
    signal.signal(signal.SIGTERM, _raise)
    return previous, original


def _stop_group(pid: int) -> None:
    """Kill what a child left behind in its process group. A child killed mid-run (the OOM killer, a crash) cannot
    stop the processes it started: Dagster's `tail -F` that mirrors a run's compute logs (and the watcher meant to
    kill it, when that went too) kept the command's stdout open, so whatever read it (a pipe, `| jq`, a test)
    waited for ever. The group outlives the child's pid, so its number is not reused while such processes remain."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(pid: int, grace_s: float = 30.0) -> None:
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
