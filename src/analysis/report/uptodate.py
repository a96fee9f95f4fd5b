"""Is the published report already what a build would produce? (stdlib only, fast)

A report's key covers the data fingerprint, the period, each notebook's file and
parameters, the package source and the environment. When the manifest of the
report in place carries the same key and every notebook succeeded, a rebuild
would only reproduce it, so nothing is done.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from . import record
from .outcome import BuildResult, NotebookResult
from .worker_status import OK


def report_key(
    *, period: str, data_sha: str, notebooks: dict[str, dict], notebooks_dir: Path, environment: dict
) -> str:
    material = {
        "period": period,
        "data": data_sha,
        "notebooks": {
            name: {"file": record.file_digest(notebooks_dir / f"{name}.ipynb"), "parameters": params}
            for name, params in sorted(notebooks.items())
        },
        "source": record.source_digest(),
        "environment": environment,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def published(out: Path, key: str) -> BuildResult | None:
    """The report at `out` when it was built from exactly these inputs and fully succeeded."""
    manifest_file = Path(out) / "manifest.json"
    if not manifest_file.exists():
        return None
    try:
        manifest = json.loads(manifest_file.read_text())
    except json.JSONDecodeError:
        return None
    if manifest.get("report_key") != key or not all(n["status"] == OK for n in manifest.get("notebooks", [])):
        return None
    notebooks = [NotebookResult(**{**n, "cached": True}) for n in manifest["notebooks"]]
    return BuildResult(Path(out), notebooks, up_to_date=True)
