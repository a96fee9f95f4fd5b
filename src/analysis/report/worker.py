"""Execute one notebook with papermill, in its own process.

Run by the report runner as ``python -m analysis.report.worker JOB.json``; writes
the executed notebook and a status file next to it. A separate process per
notebook means a crash, a dead kernel or a timeout touches only that notebook.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from analysis.report.worker_status import DEAD_KERNEL, FAILED, OK


def run(job: dict) -> dict:
    import papermill as pm
    from nbclient.exceptions import DeadKernelError

    started = time.perf_counter()
    status, message = OK, ""
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
        status, message = FAILED, f"{err.ename}: {err.evalue}"
    except DeadKernelError as err:
        status, message = DEAD_KERNEL, f"the kernel died: {err}"
    except Exception as err:  # report anything else as a failure of this notebook only
        status, message = FAILED, f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"
    return {"status": status, "message": message, "seconds": round(time.perf_counter() - started, 2)}


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    result = run(job)
    Path(job["status_file"]).write_text(json.dumps(result))
    return 0 if result["status"] == OK else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
