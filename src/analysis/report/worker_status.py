"""Statuses a notebook run can end in (shared by the runner and its worker processes)."""

OK = "ok"
FAILED = "failed"  # the notebook raised
DEAD_KERNEL = "dead kernel"
TIMED_OUT = "timed out"
CRASHED = "crashed"  # the worker process died without reporting
