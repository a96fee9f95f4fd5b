"""Execute notebooks with papermill in a long-lived worker process.

Started by the report runner as ``python -m analysis.report.worker``; it imports
papermill once, then reads one job (JSON) per line on stdin, executes it, writes
the executed notebook and a status file, and answers with one line on stdout.
A separate process means a crash, a dead kernel or a timeout touches only the
notebook it was running (the runner kills and replaces a worker that overruns).
"""

from __future__ import annotations

import json
import sys
import time
import traceback

from analysis.report.worker_status import DEAD_KERNEL, FAILED, OK

KERNEL_START_ATTEMPTS = 3  # a kernel that dies while starting ran no cell: starting it again is safe
NEVER_STARTED = "Kernel died before replying to kernel_info"


def run(job: dict) -> dict:
    started = time.perf_counter()
    for _ in range(KERNEL_START_ATTEMPTS):
        status, message = _execute(job)
        if NEVER_STARTED not in message:
            break
    _stable_cell_ids(job["output"])
    return {"status": status, "message": message, "seconds": round(time.perf_counter() - started, 2)}


def _execute(job: dict) -> tuple[str, str]:
    import papermill as pm
    from nbclient.exceptions import DeadKernelError

    try:
        pm.execute_notebook(
            job["input"],
            job["output"],
            parameters=job["parameters"],
            kernel_name="python3",
            cwd=job["cwd"],
            progress_bar=False,
            log_output=False,
            start_timeout=120,
        )
    except pm.PapermillExecutionError as err:
        return FAILED, f"{err.ename}: {err.evalue}"
    except DeadKernelError as err:
        return DEAD_KERNEL, f"the kernel died: {err}"
    except Exception as err:  # report anything else as a failure of this notebook only
        return FAILED, f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"
    return OK, ""


def _stable_cell_ids(path: str) -> None:
    """Give the cell papermill injects a fixed id (it draws a random one), so two builds match."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return  # no executed notebook was written; the failure is reported already
    for number, cell in enumerate(notebook.cells):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = f"injected-parameters-{number}"
    nbformat.write(notebook, path)


def die_with_parent(poll_seconds: float = 0.2) -> None:
    """Exit as soon as the report runner that started this worker is gone.

    A killed runner (kill -9) cannot stop its workers, and they would go on writing
    into its staging folder. The kernel a worker started watches its own parent the
    same way (ipykernel's parent poller), so it follows within a second.
    """
    import os
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> int:
    import os

    die_with_parent()
    import papermill  # noqa: F401  (imported before the first job arrives: that is the point)

    # Job environment (results directory) arrives with each job.
    print("ready", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        os.environ.update(job.get("env", {}))
        result = run(job)
        with open(job["status_file"], "w") as handle:
            json.dump(result, handle)
        print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
