"""Validate a dataset and write its snapshot in a process of its own.

Started by the report runner as ``python -m analysis.report.validate DATA FOLDER`` (see
`builder.validated_snapshot`). Validating tens of millions of rows takes gigabytes; they go
back to the system when this process exits, instead of staying with the runner while the
notebooks run; a large inspections file is validated chunk by chunk (`streamed_snapshot`).
A fault of the data is written to stdout as one line of JSON (its kind, message, file and
column) for the runner to raise again; the exit status is then 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DATA_FAULT = 2  # exit status: the data (or the path) is unusable, stdout says why


def main() -> int:
    from ..errors import DataContractError, ParameterError
    from .worker import die_with_parent

    die_with_parent()  # a killed runner leaves no validation behind
    data_path, folder = sys.argv[1:3]
    from .. import streamed_snapshot

    try:
        streamed_snapshot.write(data_path, Path(folder))
    except (DataContractError, ParameterError) as err:
        fault = {
            "kind": type(err).__name__,
            "message": str(err),
            "file": getattr(err, "file", None),
            "column": getattr(err, "column", None),
        }
        print(json.dumps(fault), flush=True)
        return DATA_FAULT
    return 0


if __name__ == "__main__":
    sys.exit(main())
