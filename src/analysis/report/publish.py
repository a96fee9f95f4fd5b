"""Where a report may be written, and how it replaces the one before it.

The runner owns only what it wrote. Every report (and every staging folder) it
creates carries a marker file; an existing `--out` is replaced only when it carries
that marker or is an empty directory. Paths whose loss would hurt (the filesystem
root, the home directory, the repository, the dataset) are refused outright.

Publishing is atomic: on Linux the new report and the old one swap places in one
`renameat2(RENAME_EXCHANGE)` call; elsewhere two renames are used and a crash
between them is repaired by the next build (`recover`). One build at a time writes
to an `--out`: a lock file beside it is held for the whole build.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ..errors import BuildError, ParameterError
from ..paths import PROJECT_ROOT

MARKER = ".enforcement-reform-report"  # present in every folder this runner created
STAGING, OLD, FAILED_SUFFIX = ".staging-", ".old-", ".failed"
LOCK_DIR = Path(tempfile.gettempdir()) / "enforcement-reform-report-locks"


class OutputRefused(ParameterError):
    """`--out` names a path the runner will not write to (exit 2)."""


class BuildLocked(BuildError):
    """Another build holds the lock of this `--out`."""


# --- is this --out ours to write? -------------------------------------------------------


def check_output(out: Path, data: Path) -> Path:
    """Return `out` made absolute, or raise OutputRefused naming the path and why."""
    out = Path(os.path.abspath(out))
    _refuse_precious(out.resolve(), data)
    for folder in (out, triage_path(out)):
        if folder.exists() or folder.is_symlink():
            _refuse_foreign(folder)
    _require_writable_parent(out)
    return out


def _refuse_precious(out: Path, data: Path) -> None:
    for precious, what in (
        (Path("/"), "the filesystem root"),
        (Path.home().resolve(), "your home directory"),
        (PROJECT_ROOT.resolve(), "the project repository"),
    ):
        if out == precious or _is_within(precious, out):
            raise OutputRefused(
                f"--out {out}: is {what} or contains it; give a folder of its own, such as reports/2024Q4"
            )
    data = Path(data).resolve()
    if out == data or _is_within(out, data) or _is_within(data, out):
        raise OutputRefused(f"--out {out}: overlaps the dataset {data}; write the report somewhere else")


def _refuse_foreign(out: Path) -> None:
    if out.is_symlink() or not out.is_dir():
        raise OutputRefused(f"--out {out}: is a file or link, not a report folder; nothing was written")
    if not is_ours(out) and any(out.iterdir()):
        raise OutputRefused(
            f"--out {out}: holds files this report runner did not write (no {MARKER} marker); "
            "it is never replaced. Give a new or empty folder, or one an earlier report was published to."
        )


def _require_writable_parent(out: Path) -> None:
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputRefused(f"--out {out}: cannot write in {parent} (permission denied)")


def _is_within(path: Path, ancestor: Path) -> bool:
    return path != ancestor and path.is_relative_to(ancestor)


def is_ours(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def mark(folder: Path, **facts) -> None:
    stamp = {"written_by": "analysis report", "at": datetime.now(UTC).isoformat(timespec="seconds"), **facts}
    (folder / MARKER).write_text(json.dumps(stamp, sort_keys=True) + "\n", encoding="utf-8")


# --- one build per --out ----------------------------------------------------------------------


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold `out`'s build lock for the duration; raise BuildLocked when another build has it.

    The lock is an flock on a file named after `out` in the system's temporary folder
    (nothing is added beside the user's folders); the kernel releases it when its
    holder dies, so a killed build never leaves a stale lock.
    """
    LOCK_DIR.mkdir(exist_ok=True)
    lock_file = LOCK_DIR / (hashlib.sha256(os.fsencode(out)).hexdigest()[:32] + ".lock")
    handle = os.open(lock_file, os.O_CREAT | os.O_RDWR, 0o666)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 64, 0).decode(errors="replace").strip() or "unknown"
            raise BuildLocked(f"another build (process {holder}) is writing {out}; wait for it to finish") from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(handle)  # closing releases the flock


# --- staging, publishing, recovery ------------------------------------------------------------


def new_staging(out: Path) -> Path:
    staging = out.parent / f"{STAGING}{out.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    mark(staging, report=out.name, state="staging")
    return staging


def triage_path(out: Path) -> Path:
    """Where a build with failed notebooks is kept when it may not replace the report."""
    return out.with_name(out.name + FAILED_SUFFIX)


def publish(staging: Path, out: Path) -> None:
    """Put the finished report at `out`; the one it replaces is removed only after."""
    if out.exists() and not is_ours(out) and any(out.iterdir()):  # checked again: it may have changed since
        raise OutputRefused(f"--out {out}: files appeared there during the build; nothing was replaced")
    mark(staging, report=out.name, state="published")
    if not out.exists():
        staging.rename(out)
        return
    if _exchange(staging, out):  # staging now holds the previous report
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = out.parent / f"{OLD}{out.name}-{uuid.uuid4().hex[:8]}"
    out.rename(old)
    staging.rename(out)  # a crash before this line is repaired by `recover`
    shutil.rmtree(old, ignore_errors=True)


def recover(out: Path, log=print) -> None:
    """Repair what a killed build left beside `out` (call with the lock held).

    A missing `out` with a previous report parked under `.old-*` gets it back; leftover
    staging and parked folders are then removed, but only those carrying the marker.
    """
    parked = sorted(_leftovers(out, OLD), key=lambda p: p.stat().st_mtime)
    if not out.exists() and parked:
        parked.pop().rename(out)
        log(f"restored the previous report at {out} (an earlier build was interrupted while publishing)")
    for folder in parked + _leftovers(out, STAGING):
        shutil.rmtree(folder, ignore_errors=True)


def _leftovers(out: Path, prefix: str) -> list[Path]:
    if not out.parent.exists():
        return []
    return [p for p in out.parent.glob(f"{prefix}{out.name}-*") if p.is_dir() and not p.is_symlink() and is_ours(p)]


def replace_owned(folder: Path, target: Path) -> None:
    """Move `folder` to `target`, replacing `target` only when this runner wrote it."""
    if target.exists() and not (target.is_dir() and (is_ours(target) or not any(target.iterdir()))):
        raise OutputRefused(f"{target}: exists and was not written by this report runner; the build stays at {folder}")
    if target.exists():
        shutil.rmtree(target)
    folder.rename(target)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2); False when unsupported."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))
