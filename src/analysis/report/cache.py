"""Executed notebooks kept for reuse, keyed by everything that could change them.

Layout: CACHE/NOTEBOOK/KEY/{executed.ipynb, results/, meta.json}. The key covers the
data fingerprint, the notebook file, its parameters, the package source and the
environment (`record.cache_key`). The cache has a size limit: after each build the
least recently used entries are removed until it fits (a hit marks an entry used).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path

DEFAULT_LIMIT_BYTES = 2 * 1024**3
ENTRY_NAME = re.compile(r"^[0-9a-f]{24}$")  # record.cache_key's digest: only such folders are ever removed
STALE_TEMP_SECONDS = 3600


def lookup(entry: Path) -> dict | None:
    """The entry's meta data when it is complete, marking it used; else None."""
    meta_file = entry / "meta.json"
    if not ((entry / "executed.ipynb").is_file() and meta_file.is_file()):
        return None
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    os.utime(meta_file)  # last used: what the size limit evicts by
    return meta


def copy_out(entry: Path, executed: Path, results: Path) -> None:
    shutil.copy2(entry / "executed.ipynb", executed)
    if (entry / "results").exists():
        shutil.copytree(entry / "results", results, dirs_exist_ok=True)


def store(entry: Path, executed: Path, results: Path, seconds: float) -> None:
    """Put one executed notebook (and what it recorded) into the cache, replacing the entry atomically."""
    tmp = entry.with_name(entry.name + f".tmp-{uuid.uuid4().hex[:6]}")
    tmp.mkdir(parents=True)
    shutil.copy2(executed, tmp / "executed.ipynb")
    if results.exists():
        shutil.copytree(results, tmp / "results")
    (tmp / "meta.json").write_text(json.dumps({"seconds": seconds}))
    shutil.rmtree(entry, ignore_errors=True)
    tmp.rename(entry)


def expected_seconds(cache_dir: Path, notebook: str, default: float) -> float:
    """The notebook's duration in its most recently used cached run; `default` when unknown."""
    metas = sorted((cache_dir / notebook).glob("*/meta.json"), key=lambda p: p.stat().st_mtime)
    for meta in reversed(metas):
        try:
            return float(json.loads(meta.read_text())["seconds"])
        except (OSError, ValueError, KeyError):
            continue
    return default


def prune(cache_dir: Path, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> list[Path]:
    """Remove least recently used entries until the cache is within `limit_bytes`; return what went.

    Temporary folders of interrupted stores older than an hour go too. A dataset snapshot used
    within the hour stays: a kernel of another build may still be reading its inspections.
    """
    if not cache_dir.is_dir():
        return []
    removed = []
    entries = []
    for folder in cache_dir.glob("*/*"):
        if not folder.is_dir() or folder.is_symlink():
            continue
        if ".tmp-" in folder.name and time.time() - folder.stat().st_mtime > STALE_TEMP_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        elif ENTRY_NAME.match(folder.name) and (folder / "meta.json").is_file():
            entries.append(((folder / "meta.json").stat().st_mtime, _size(folder), folder))
    total = sum(size for _, size, _ in entries)
    for used, size, folder in sorted(entries, key=lambda item: item[0]):
        if total <= limit_bytes:
            break
        if folder.parent.name == "snapshots" and time.time() - used < STALE_TEMP_SECONDS:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
        total -= size
    return removed


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
