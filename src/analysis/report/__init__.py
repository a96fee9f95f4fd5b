"""The quarterly report: run the notebooks with papermill and publish reviewer HTML.

`build` validates every parameter first, runs notebooks in parallel (one process
each, each with its own timeout), renders HTML even for failed notebooks, merges
recorded estimates into estimates.csv, writes index.html and manifest.json in a
staging folder, and only then moves the finished report into place.
"""

from .build import BuildResult, NotebookResult, build

__all__ = ["BuildResult", "NotebookResult", "build"]
