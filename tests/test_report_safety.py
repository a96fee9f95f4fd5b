"""The report runner owns only what it wrote, publishes atomically, and never publishes a worse build.

Each test reproduces one way a report build could lose a user's files or serve
wrong numbers (issue: safe outputs and trustworthy builds), with the tiny fixture
notebooks of tests/fixtures/notebooks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.errors import DataContractError
from analysis.paths import PROJECT_ROOT
from analysis.report import build, builder, publish
from analysis.report.builder import CACHE_NAME
from analysis.report.publish import MARKER, BuildLocked, OutputRefused
from analysis.report.schema import DATA_DIR, PERIOD, NotebookSpec, Param

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
LABEL = Param("label", str, "x", "free text")
pytestmark = pytest.mark.usefixtures("without_pdf")  # builds of fixture notebooks: no report.pdf (conftest.py)


def spec(name: str, timeout: int = 120) -> NotebookSpec:
    return NotebookSpec(name, f"Fixture {name}", (DATA_DIR, PERIOD, LABEL), timeout_seconds=timeout)


def run(data, out, names=("ok",), **kwargs):
    specs = tuple(spec(n) for n in names)
    return build(
        data,
        "2022Q4",
        out=out,
        jobs=2,
        specs=specs,
        notebooks_dir=FIXTURES,
        cache_dir=Path(out).parent / "cache",
        log=lambda *_: None,
        **kwargs,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes, to show nothing was touched."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def report_cli(*args: str) -> list[str]:
    return ["report", "--period", "2022Q4", "--only", "00_data_quality", *args]


@pytest.fixture
def fixture_notebooks(monkeypatch):
    """Make `analysis report` on the command line run the named fixture notebooks instead."""
    import analysis.report

    def use(*names: str) -> None:
        def fixture_build(*args, **kwargs):
            kwargs.pop("only", None)
            return build(
                *args,
                specs=tuple(spec(n) for n in names),
                notebooks_dir=FIXTURES,
                cache_dir=Path(kwargs["out"]).parent / "cache",
                **kwargs,
            )

        monkeypatch.setattr(analysis.report, "build", fixture_build)

    return use


# --- --out is refused unless it is ours -------------------------------------------------------


def thesis_folder(root: Path) -> Path:
    folder = root / "thesis"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "chapter1.tex").write_text("uncommitted work\n")
    return folder


def other_quarters(root: Path) -> Path:
    reports = root / "reports"
    for quarter in ("2022Q2", "2022Q3"):
        (reports / quarter).mkdir(parents=True)
        (reports / quarter / MARKER).write_text("{}")
        (reports / quarter / "index.html").write_text(f"report {quarter}")
    return reports


@pytest.mark.parametrize(
    "make_out, message",
    [
        (thesis_folder, "holds files this report runner did not write"),
        (other_quarters, "holds files this report runner did not write"),
        (lambda root: (root / "notes.txt", (root / "notes.txt").write_text("mine"))[0], "is a file or link"),
        (lambda root: (root / "link", (root / "link").symlink_to(thesis_folder(root)))[0], "is a file or link"),
    ],
    ids=["git-clone-with-work", "reports-folder-of-other-quarters", "plain-file", "symlink-to-a-folder"],
)
def test_foreign_out_is_refused_and_untouched(tiny_dir, tmp_path, capsys, make_out, message):
    out = make_out(tmp_path)
    before = snapshot(tmp_path) if out.is_dir() or out.is_symlink() else out.read_bytes()
    assert main(report_cli("--data", str(tiny_dir), "--out", str(out))) == 2
    assert message in capsys.readouterr().err
    assert (snapshot(tmp_path) if out.is_dir() or out.is_symlink() else out.read_bytes()) == before
    assert not list(tmp_path.glob(".old-*")) and not list(tmp_path.glob(".staging-*"))


def test_current_directory_is_refused(tiny_dir, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    (work / "draft.txt").write_text("mine")
    monkeypatch.chdir(work)
    assert main(report_cli("--data", str(tiny_dir), "--out", "")) == 2
    assert "holds files this report runner did not write" in capsys.readouterr().err
    assert sorted(p.name for p in work.iterdir()) == ["draft.txt"] and not list(tmp_path.glob(".*"))


@pytest.mark.parametrize("where", ["data itself", "inside data", "parent of data"])
def test_out_overlapping_the_dataset_is_refused(tiny_dir, capsys, where):
    out = {"data itself": tiny_dir, "inside data": tiny_dir / "report", "parent of data": tiny_dir.parent}[where]
    before = snapshot(tiny_dir)
    assert main(report_cli("--data", str(tiny_dir), "--out", str(out))) == 2
    assert "overlaps the dataset" in capsys.readouterr().err
    assert snapshot(tiny_dir) == before


@pytest.mark.parametrize(
    "out, message",
    [
        ("/", "the filesystem root"),
        (str(Path.home()), "your home directory"),
        (str(PROJECT_ROOT), "the project repository"),
    ],
)
def test_precious_folders_are_refused_before_anything_runs(tiny_dir, capsys, out, message):
    started = time.perf_counter()
    assert main(report_cli("--data", str(tiny_dir), "--out", out)) == 2
    assert message in capsys.readouterr().err
    assert time.perf_counter() - started < 5  # refused up front, not after a whole build


def test_read_only_parent_is_refused(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(publish.os, "access", lambda path, mode: False)  # root ignores chmod: simulate it
    with pytest.raises(OutputRefused, match="cannot write in .* \\(permission denied\\)"):
        run(tiny_dir, tmp_path / "reports" / "2022Q4")


@pytest.mark.slow  # two builds
def test_empty_folder_and_own_report_are_accepted(tiny_dir, tmp_path):
    out = tmp_path / "reports" / "2022Q4"
    out.mkdir(parents=True)
    first = run(tiny_dir, out)
    assert first.ok and (out / "index.html").exists() and (out / MARKER).exists()
    second = run(tiny_dir, out, force=True)  # replaces its own earlier report
    assert second.ok and (out / "index.html").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["2022Q4", "cache"]


# --- one build per --out; atomic publish; recovery --------------------------------------------


@pytest.mark.slow  # a build (~4 s)
def test_second_build_on_the_same_out_fails_clearly(tiny_dir, tmp_path, capsys):
    out = tmp_path / "reports" / "2022Q4"
    with publish.locked(out):
        with pytest.raises(BuildLocked, match=f"another build \\(process {os.getpid()}\\) is writing"):
            run(tiny_dir, out)
        assert main(report_cli("--data", str(tiny_dir), "--out", str(out))) == 1
        assert "is writing" in capsys.readouterr().err
    assert run(tiny_dir, out).ok  # the lock is released with its holder


def test_publish_swaps_atomically_and_without_exchange(tmp_path, monkeypatch):
    out = tmp_path / "2022Q4"
    for version, exchange in (("one", True), ("two", True), ("three", False)):
        if not exchange:
            monkeypatch.setattr(publish, "_exchange", lambda a, b: False)  # a filesystem without renameat2
        staging = publish.new_staging(out)
        (staging / "index.html").write_text(version)
        publish.publish(staging, out)
        assert (out / "index.html").read_text() == version
        assert sorted(p.name for p in tmp_path.iterdir()) == ["2022Q4"]


def test_crash_between_renames_is_repaired_by_the_next_build(tmp_path, monkeypatch):
    out = tmp_path / "2022Q4"
    first = publish.new_staging(out)
    (first / "index.html").write_text("good")
    publish.publish(first, out)
    monkeypatch.setattr(publish, "_exchange", lambda a, b: False)
    staging = publish.new_staging(out)
    real_rename = Path.rename

    def crash_on_second_rename(self, target):
        if self == staging:
            raise KeyboardInterrupt("killed between the two renames")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", crash_on_second_rename)
    with pytest.raises(KeyboardInterrupt):
        publish.publish(staging, out)
    monkeypatch.undo()
    assert not out.exists()  # the window the old code never repaired
    notes = []
    publish.recover(out, log=notes.append)
    assert (out / "index.html").read_text() == "good" and "restored the previous report" in notes[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2022Q4"]  # leftover staging removed too


def test_recover_removes_only_marked_leftovers(tmp_path):
    out = tmp_path / "2022Q4"
    out.mkdir()
    ours = publish.new_staging(out)
    foreign = tmp_path / ".staging-2022Q4-user"
    foreign.mkdir()
    (foreign / "data.csv").write_text("not ours")
    publish.recover(out, log=lambda *_: None)
    assert not ours.exists() and (foreign / "data.csv").read_text() == "not ours"


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


BUILDER_SCRIPT = """
import sys
from pathlib import Path
from analysis.report import build
from analysis.report.schema import DATA_DIR, PERIOD, NotebookSpec, Param
spec = NotebookSpec("slow", "slow", (DATA_DIR, PERIOD, Param("label", str, "x", "free text")), timeout_seconds=300)
build(sys.argv[1], "2022Q4", out=sys.argv[2], jobs=1, specs=(spec,), notebooks_dir=Path(sys.argv[3]), log=print)
"""


@pytest.mark.slow  # a build killed mid-run, then another
def test_killed_builder_takes_its_workers_and_kernels_with_it(tiny_dir, tmp_path):
    out = tmp_path / "reports" / "2022Q4"
    builder_process = subprocess.Popen(
        [sys.executable, "-c", BUILDER_SCRIPT, str(tiny_dir), str(out), str(FIXTURES)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        staging = out.parent / ".staging-2022Q4-*"
        while time.monotonic() < deadline and (  # validated, staging, a worker and its kernel running
            len(descendants(builder_process.pid)) < 2 or not list(out.parent.glob(staging.name))
        ):
            time.sleep(0.5)
        time.sleep(3)  # the kernel is running the sleeping cell now
        family = descendants(builder_process.pid)
        assert len(family) >= 2, "the build never started its worker and kernel"
        assert list(out.parent.glob(".staging-2022Q4-*"))
        os.kill(builder_process.pid, signal.SIGKILL)
        builder_process.wait()
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and any(alive(p) for p in family):
            time.sleep(0.2)
        assert not [p for p in family if alive(p)], "workers or kernels outlived the builder"
    finally:
        if builder_process.poll() is None:
            builder_process.kill()
    assert run(tiny_dir, out).ok  # the next build cleans up what the killed one left
    kept = sorted(p.name for p in out.parent.iterdir() if p.name != CACHE_NAME)  # the killed build's cache may stay
    assert kept == ["2022Q4", "cache"]


# --- only good builds are published -----------------------------------------------------------


@pytest.mark.slow  # four builds
def test_failed_build_keeps_the_last_good_report(tiny_dir, tmp_path):
    out = tmp_path / "reports" / "2022Q4"
    good = run(tiny_dir, out)
    good_index = (out / "index.html").read_text()
    failed = run(tiny_dir, out, names=("ok", "broken"))
    assert not failed.ok and not failed.published
    assert (out / "index.html").read_text() == good_index and not (out / "broken.html").exists()
    assert failed.out == publish.triage_path(out) and (failed.out / "broken.html").exists()
    forced = run(tiny_dir, out, names=("ok", "broken"), allow_failures=True)
    assert forced.published and (out / "broken.html").exists()
    again = run(tiny_dir, out, force=True)
    assert again.ok and good.ok and not publish.triage_path(out).exists()  # superseded triage folder removed


@pytest.mark.slow  # a build (~4 s)
def test_failed_build_cli_says_where_it_is(tiny_dir, tmp_path, fixture_notebooks, capsys):
    out = tmp_path / "reports" / "2022Q4"
    fixture_notebooks("broken")
    assert main(report_cli("--data", str(tiny_dir), "--out", str(out))) == 1
    printed = capsys.readouterr().out
    assert "report NOT published: 1 notebook(s) failed (broken)" in printed and "--allow-failures" in printed
    assert str(publish.triage_path(out)) in printed and not out.exists()


# --- the data must not change under the build ------------------------------------------------


@pytest.mark.slow  # two builds
def test_data_changed_during_the_build_is_not_published_or_cached(tiny_dir, tmp_path, monkeypatch):
    out = tmp_path / "reports" / "2022Q4"
    real = builder._execute_all

    def execute_then_edit(*args, **kwargs):
        outcomes = real(*args, **kwargs)
        inspections = tiny_dir / "inspections.csv"
        inspections.write_text(inspections.read_text().replace("20000", "20001"))
        return outcomes

    monkeypatch.setattr(builder, "_execute_all", execute_then_edit)
    with pytest.raises(DataContractError, match=r"changed while the report was being built \(inspections.csv\)"):
        run(tiny_dir, out)
    assert not out.exists() and not list((tmp_path / "reports" / "cache").rglob("executed.ipynb"))
    assert not list((tmp_path / "reports" / "cache").rglob("dataset.json")), "a snapshot of changing data was kept"
    monkeypatch.undo()
    rebuilt = run(tiny_dir, out)
    assert rebuilt.ok and not rebuilt.notebooks[0].cached


@pytest.mark.slow  # three builds
def test_truth_file_is_part_of_the_fingerprint(tiny_dir, tmp_path):
    out = tmp_path / "reports" / "2022Q4"
    assert run(tiny_dir, out).ok
    assert run(tiny_dir, out).up_to_date
    (tiny_dir / "truth.json").write_text(json.dumps({"seed": 1, "estimands": []}))
    changed = run(tiny_dir, out)
    assert not changed.up_to_date and not changed.notebooks[0].cached


@pytest.mark.slow  # a build (~4 s)
def test_foreign_truth_file_does_not_break_the_run_record(tiny_dir, tmp_path):
    (tiny_dir / "truth.json").write_text("this is not JSON")
    result = run(tiny_dir, tmp_path / "reports" / "2022Q4")
    assert result.ok and json.loads((result.out / "manifest.json").read_text())["seed"] is None


# --- disk full, missing data, and other errors become messages --------------------------------


@pytest.mark.slow  # two builds
def test_disk_full_is_a_message_and_the_old_report_survives(tiny_dir, tmp_path, monkeypatch, fixture_notebooks, capsys):
    out = tmp_path / "reports" / "2022Q4"
    assert run(tiny_dir, out).ok
    before = snapshot(out)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(out.parent / "estimates.csv"))

    monkeypatch.setattr(builder.csvout, "write_csv", full)
    fixture_notebooks("ok")
    assert main(report_cli("--data", str(tiny_dir), "--out", str(out), "--force")) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert snapshot(out) == before and not list(out.parent.glob(".staging-*"))


def test_missing_dataset_is_a_message(tmp_path, capsys):
    assert main(report_cli("--data", str(tmp_path / "nonexistent"), "--out", str(tmp_path / "r"))) == 1
    assert "nonexistent: no such dataset" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


# --- the cache stays within its size limit ----------------------------------------------------


def cache_entry(cache_dir: Path, notebook: str, key: str, size: int, used: float) -> Path:
    entry = cache_dir / notebook / key
    entry.mkdir(parents=True)
    (entry / "executed.ipynb").write_bytes(b"x" * size)
    (entry / "meta.json").write_text('{"seconds": 1.0}')
    os.utime(entry / "meta.json", (used, used))
    return entry


def test_cache_evicts_least_recently_used_entries(tmp_path):
    from analysis.report import cache

    old = cache_entry(tmp_path, "nb", "a" * 24, 400, used=1_000)
    recent = cache_entry(tmp_path, "nb", "b" * 24, 400, used=3_000)
    used_again = cache_entry(tmp_path, "other", "c" * 24, 400, used=2_000)
    assert cache.lookup(used_again)  # a hit makes it the most recently used
    foreign = tmp_path / "nb" / "notes"  # not an entry of ours: never removed
    foreign.mkdir()
    (foreign / "big.bin").write_bytes(b"y" * 5_000)
    removed = cache.prune(tmp_path, limit_bytes=900)
    assert removed == [old] and recent.exists() and used_again.exists() and foreign.exists()
    assert cache.prune(tmp_path, limit_bytes=500) == [recent]


def test_a_snapshot_in_use_is_kept_over_the_limit(tmp_path):
    import time

    from analysis.report import cache

    old = cache_entry(tmp_path, "snapshots", "d" * 24, 400, used=1_000)
    in_use = cache_entry(tmp_path, "snapshots", "e" * 24, 400, used=time.time() - 60)  # read a minute ago
    assert cache.prune(tmp_path, limit_bytes=1) == [old] and in_use.exists()


@pytest.mark.slow  # two builds
def test_build_prunes_its_cache(tiny_dir, tmp_path):
    out = tmp_path / "reports" / "2022Q4"
    run(tiny_dir, out, cache_limit_bytes=1)  # nothing fits: the entries just written are evicted...
    kept = list((out.parent / "cache").rglob("meta.json"))
    assert [m.parent.parent.name for m in kept] == ["snapshots"]  # ...but a snapshot used within the hour stays
    run(tiny_dir, out, force=True)
    assert len([m for m in (out.parent / "cache").rglob("meta.json") if "snapshots" not in m.parts]) == 1
