"""Measuring helpers: result lines, CPU time, peak RSS of a process tree, percentiles, free ports."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TargetResult:
    """One line of the perf suite: `<target> <measured> <ratio> PASS|FAIL`."""

    target: str
    measured: float
    unit: str
    baseline: float | None  # None: an absolute target (limit below)
    ratio: float | None
    passed: bool
    goal: str  # how PASS is decided, in words
    notes: dict = field(default_factory=dict)

    def line(self) -> str:
        ratio = f"{self.ratio:.3f}" if self.ratio is not None else "-"
        return f"{self.target} {self.measured:.4g} {ratio} {'PASS' if self.passed else 'FAIL'}"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f}s")


def tree_cpu_seconds(pid: int) -> float:
    """CPU (user + system) used so far by the live processes of pid's tree, from /proc/<pid>/stat."""
    from doc_pipeline.cli import proc_stat_fields

    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in process_tree(pid):
        fields = proc_stat_fields(f"/proc/{p}/stat")
        if fields and len(fields) > 12:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def host_probe(n: int = 2_000_000) -> float:
    """CPU seconds of a fixed pure-Python loop: how fast this host runs right now. Printed beside the figures so a
    reader can tell a slow pipeline from a slow moment of a shared VM (on one 2-core VM the same loop took 0.31 to
    0.69 s within a minute)."""
    t0 = time.process_time()
    x = 0
    for i in range(n):
        x += i * i
    return round(time.process_time() - t0, 3)


def cpu_seconds() -> float:
    """CPU (user + system) of this process, all threads, plus children that have been waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def process_tree(pid: int) -> set[int]:
    """pid and all its descendants, read from /proc."""
    from doc_pipeline.cli import process_descendants

    return {pid} | process_descendants(pid)


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class ProcessTreeWatch:
    """The process tree of `pid`, kept current cheaply: each `update()` lists /proc and reads the stat file only of
    processes it has not seen before (reading every process's stat file every 10 ms took 0.46 of a core on a 2-core
    host, CPU the measured pipeline then did not get), so short-lived children (the worker processes
    `doc-pipeline process` forks) are in the tree from the first sample after they start."""

    def __init__(self, pid: int):
        from doc_pipeline.cli import proc_stat_fields

        self._stat = proc_stat_fields
        self.tree: set[int] = {pid}
        self._others: set[int] = set()

    def update(self) -> set[int]:
        live = {int(name) for name in os.listdir("/proc") if name.isdigit()}
        self.tree &= live
        self._others &= live
        for p in sorted(live - self.tree - self._others):  # a parent's pid comes before its child's
            fields = self._stat(f"/proc/{p}/stat")
            (self.tree if fields and len(fields) > 1 and fields[1].isdigit() and int(fields[1]) in self.tree
             else self._others).add(p)
        return set(self.tree)


class TreeSampler:
    """Calls `sample()` on the process tree of `pid` every `interval` seconds in a background thread, from
    `with` entry to exit (the tree from ProcessTreeWatch). `cpu_seconds` is what the sampling thread itself used
    (reported beside the figures)."""

    def __init__(self, pid: int, interval: float):
        self.pid, self.interval = pid, interval
        self.cpu_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self, pids: set[int]) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        watch = ProcessTreeWatch(self.pid)
        while not self._stop.is_set():
            self.sample(watch.update())
            self.cpu_seconds = time.thread_time()
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class TreeRssSampler(TreeSampler):
    """Samples the RSS of every process in a tree every `interval` seconds; keeps the largest single process
    and the largest sum. Complements ru_maxrss, which only covers children once they have been waited for."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(pid, interval)
        self.peak_process = 0
        self.peak_tree = 0

    def sample(self, pids: set[int]) -> None:
        sizes = [rss_bytes(p) for p in pids]
        if sizes:
            self.peak_process = max(self.peak_process, max(sizes))
            self.peak_tree = max(self.peak_tree, sum(sizes))


class RunnableSampler(TreeSampler):
    """Counts, every `interval` seconds (20 a second: steps last 0.1 s and more), the threads of a process tree
    that are running or ready to run (state R in /proc/<pid>/task/<tid>/stat). `busy_share(a, b)` is the mean of
    min(count, cores) / cores between two time.time() stamps: the share of the cores the pipeline kept busy (1.0 =
    no core left idle by it). On a loaded host, threads waiting for a core count as busy too: the measure tells
    our idling from CPU we used."""

    def __init__(self, pid: int, interval: float = 0.05, cores: int | None = None):
        super().__init__(pid, interval)
        self.cores = cores or os.cpu_count() or 1
        self.samples: list[tuple[float, int]] = []

    @staticmethod
    def runnable_threads(pids: set[int]) -> int:
        from doc_pipeline.cli import proc_stat_fields

        n = 0
        for pid in pids:
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tids:
                fields = proc_stat_fields(f"/proc/{pid}/task/{tid}/stat")
                n += bool(fields) and fields[0] == "R"
        return n

    def sample(self, pids: set[int]) -> None:
        self.samples.append((time.time(), self.runnable_threads(pids)))

    def busy_share(self, start: float, end: float) -> float | None:
        inside = [min(n, self.cores) for t, n in self.samples if start <= t < end]
        return sum(inside) / len(inside) / self.cores if inside else None


def busy_by_step(sampler: RunnableSampler, spans: list) -> dict[str, float]:
    """The busy share of the cores per step name over all its spans ((step, start, end) from benchmark.py), and
    over all steps as "all_steps"."""
    out: dict[str, float] = {}
    weights: dict[str, tuple[float, float]] = {}
    for step, start, end in spans:
        share = sampler.busy_share(start, end)
        if share is None:
            continue
        for name in (step, "all_steps"):
            num, den = weights.get(name, (0.0, 0.0))
            weights[name] = (num + share * (end - start), den + (end - start))
    for name, (num, den) in weights.items():
        out[name] = round(num / den, 3) if den else 0.0
    return out


def own_peak_rss_bytes() -> int:
    """This process's own RSS high-water mark (VmHWM). Not ru_maxrss: Linux carries the parent's peak into a child
    across fork/vfork + exec, so a batch started from a large pytest process would report the parent's size."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def children_maxrss_bytes() -> int:
    """The largest RSS any waited-for child (or its waited-for descendants) reached (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def stop_process(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """TERM the process group we started (start_new_session=True), then KILL what is left of it."""
    import signal

    if proc.poll() is not None:
        return
    tree = process_tree(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if proc.poll() is None:
        proc.wait()
