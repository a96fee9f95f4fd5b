"""The quarterly report: run the notebooks with papermill and publish reviewer HTML.

`build` validates every parameter first, runs notebooks in parallel (one process
each, each with its own timeout), renders HTML even for failed notebooks, merges
recorded estimates into estimates.csv, writes index.html and manifest.json in a
staging folder, and only then moves the finished report into place. A report
whose inputs did not change is left as it is.
"""

from .outcome import BuildResult, NotebookResult


def build(*args, **kwargs) -> BuildResult:
    """See `analysis.report.builder.build`."""
    from .builder import build as _build

    return _build(*args, **kwargs)


__all__ = ["BuildResult", "NotebookResult", "build"]
