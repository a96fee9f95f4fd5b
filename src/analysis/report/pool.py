"""Long-lived worker processes for the report runner (see worker.py for the other end).

A worker imports papermill once and runs the notebooks sent to it one at a time;
a worker that overruns a notebook's timeout, or dies, is killed and replaced so
the notebooks still waiting are not affected.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import time

# One BLAS thread per kernel: with several notebooks at once on few cores,
# threaded BLAS makes them fight over the cores (see shared perf anchors).
# One thread for compiled loops too (pyfixest's numba and Rust demeaning): a fixed summation
# order makes two builds of the same report give byte-identical estimates.
KERNEL_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "RAYON_NUM_THREADS": "1",
    # A fixed string-hash seed: the order in which sets of names are visited (fixed effects among
    # them) is then the same in every kernel, and so are iterative fits that stop at a tolerance.
    "PYTHONHASHSEED": "0",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",  # figures inline whatever the caller set
    # Arrow's own allocator (mimalloc) keeps what a Parquet read freed: 0.4 GiB more per kernel at 10M
    # inspections. The system's gives large blocks back at once, at the same speed here.
    "ARROW_DEFAULT_MEMORY_POOL": "system",
}


class Worker:
    """One long-lived worker process (analysis.report.worker): imports once, runs jobs one at a time."""

    def __init__(self):
        # Kernel chatter stays out of the progress log; the file lives as long as the worker (closed in close()).
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "analysis.report.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env={**os.environ, **KERNEL_ENV},
            start_new_session=True,
            text=True,
            bufsize=1,
        )
        if self.process.stdin is None or self.process.stdout is None:  # cannot happen with PIPE; says so to mypy
            raise RuntimeError("the worker process has no pipes")
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.ready = False

    def run(self, job: dict, timeout: float) -> str:
        """Send a job; return "done", "timeout" (the worker is then killed) or "died"."""
        deadline = time.monotonic() + timeout
        if not self.ready:
            if self._read_line(deadline) != "ready":
                return "died"
            self.ready = True
        try:
            self.stdin.write(json.dumps(job) + "\n")
            self.stdin.flush()
        except (BrokenPipeError, OSError):
            return "died"
        answer = self._read_line(deadline)
        if answer is None:
            self.kill()
            return "timeout"
        return "done" if answer == "done" else "died"

    def _read_line(self, deadline: float) -> str | None:
        """The worker's next line; None when the deadline passes first; "" at end of file."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self.stdout], [], [], remaining)[0]:
            return None
        return self.stdout.readline().strip()

    def stderr_tail(self, lines: int = 5) -> str:
        self.stderr.seek(0)
        return "\n".join(self.stderr.read().decode(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        self.stderr.close()


class WorkerPool:
    """`size` workers shared by the runner's threads; a worker that times out or dies is replaced."""

    def __init__(self, size: int):
        self.size = max(1, size)
        self.idle: queue.Queue[Worker] = queue.Queue()
        self.all: list[Worker] = []
        for _ in range(self.size):
            self._add()

    def _add(self) -> None:
        worker = Worker()
        self.all.append(worker)
        self.idle.put(worker)

    def run(self, job: dict, timeout: float) -> tuple[str, str]:
        worker = self.idle.get()
        answer = worker.run(job, timeout)
        if answer == "done":
            self.idle.put(worker)
            return answer, ""
        tail = worker.stderr_tail()
        worker.kill()
        self._add()  # a fresh worker for the notebooks still waiting
        return answer, tail

    def close(self) -> None:
        for worker in self.all:
            worker.close()
