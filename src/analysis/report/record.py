"""The run record: what a report was built from, and the cache keys derived from it."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from ..paths import PROJECT_ROOT

# The packages whose code computes or renders a report's results (the run record lists their versions).
PACKAGES = (
    "numpy",
    "pandas",
    "pyarrow",
    "duckdb",
    "scipy",
    "statsmodels",
    "pyfixest",
    "moderndid",
    "wildboottest",
    "matplotlib",
    "papermill",
    "nbconvert",
)
TABLE_SUFFIXES = (".csv", ".parquet", ".duckdb", ".db")
TRUTH_FILE = "truth.json"  # the simulated world's planted truth: notebooks read it too


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(path: Path) -> dict:
    """SHA-256 of every file a report reads from the dataset (tables and truth.json), and one over all."""
    files = (
        [path]
        if path.is_file()
        else sorted(
            p for p in path.iterdir() if p.is_file() and (p.suffix.lower() in TABLE_SUFFIXES or p.name == TRUTH_FILE)
        )
    )
    digests = {p.name: file_digest(p) for p in files}
    combined = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()
    return {"name": path.name, "sha256": combined, "files": digests}  # no absolute path: pages are shared


PACKAGE_DIR = Path(__file__).resolve().parents[1]


def source_digest(package: Path = PACKAGE_DIR) -> str:
    """Digest of the package's own source files (any change invalidates the cache)."""
    digest = hashlib.sha256()
    for file in sorted(package.rglob("*")):
        if file.is_file() and file.suffix in (".py", ".csv", ".toml"):
            digest.update(str(file.relative_to(package)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def environment() -> dict:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "packages": versions}


def git_commit() -> dict:
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "HEAD") or "unknown",
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def data_seed(path: Path) -> int | None:
    """The simulation seed when the data is a simulated world (truth.json beside it)."""
    truth = path / TRUTH_FILE if path.is_dir() else None
    if not (truth and truth.is_file()):
        return None
    try:
        seed = json.loads(truth.read_text(encoding="utf-8")).get("seed")
    except (OSError, ValueError, AttributeError):  # another project's truth.json, or not JSON: not ours to read
        return None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def cache_key(*, data_sha: str, notebook: Path, parameters: dict, source: str, env: dict) -> str:
    material = {
        "data": data_sha,
        "notebook": file_digest(notebook),
        "parameters": parameters,
        "source": source,
        "environment": env,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:24]
