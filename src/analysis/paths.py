"""Where things live: the project root, the default dataset, the notebooks, the reports.

Every notebook and command takes a data directory; when none is given the
bundled simulated world is used, generated on first use.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT_ROOT / "notebooks"
REPORTS = PROJECT_ROOT / "reports"
DEFAULT_DATA = PROJECT_ROOT / "data" / "generated" / "default"
DATA_ENV = "ANALYSIS_DATA"  # set by `make lab` and honoured by every notebook


def resolve_data(data_dir: str | os.PathLike | None = None) -> Path:
    """The dataset to use: `data_dir` if given, else $ANALYSIS_DATA, else the default world.

    The default world is generated (seconds) when it is missing, so a fresh
    checkout runs every notebook top to bottom.
    """
    chosen = str(data_dir or os.environ.get(DATA_ENV, "")).strip()
    if chosen:
        return Path(chosen).expanduser().resolve()
    if not (DEFAULT_DATA / "inspections.parquet").exists():
        from .synth import write_dataset

        write_dataset(DEFAULT_DATA)
    return DEFAULT_DATA
