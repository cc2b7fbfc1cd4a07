"""The largest sheet is read on a second thread, by a calamine of its own
(workbook.xlsx.read.PARALLEL_FROM_BYTES): the snapshot is the one a single reader gives,
and what goes wrong on that thread is reported as it is on the main one."""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from benchmarks.generate import generate
from tests.conftest import AS_OF, SAMPLE
from tests.crafted import part_of, rewrite
from workbook.cli import main
from workbook.errors import WorkbookError
from workbook.tables import WorkbookSnapshot
from workbook.xlsx import read
from workbook.xlsx.write import sheet_part_names

ONE_READER = 1 << 62  # no part is this large: every sheet is read in one copy


def snapshot(path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int) -> WorkbookSnapshot:
    monkeypatch.setattr(read, "PARALLEL_FROM_BYTES", threshold)
    return read.read_snapshot(path)


def readers_used(path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int = 0) -> int:
    """How many calamine copies a read of `path` makes (threshold 0: its largest part,
    whatever its size, is read apart)."""
    calls = []
    real = read._grids

    def counted(*args: object) -> object:
        calls.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(read, "_grids", counted)
    snapshot(path, monkeypatch, threshold)
    monkeypatch.setattr(read, "_grids", real)
    return len(calls)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("parallel")
    sample = Path(shutil.copy(SAMPLE, folder / "sample.xlsx"))
    twice = Path(shutil.copy(SAMPLE, folder / "twice.xlsx"))
    for day in ("2026-10-24", AS_OF.isoformat()):  # Run Log and Findings History filled
        assert main(["recalc", str(twice), "--as-of", day]) == 0
    generated = generate(folder / "generated.xlsx", 300)  # with history like the sample's
    return {"sample": sample, "recalculated twice": twice, "generated": generated}


@pytest.mark.parametrize("name", ["sample", "recalculated twice", "generated"])
def test_the_largest_sheet_read_apart_gives_the_same_snapshot(
    books: dict[str, Path], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = books[name]
    assert readers_used(path, monkeypatch) == 2
    apart = snapshot(path, monkeypatch, 0)
    together = snapshot(path, monkeypatch, ONE_READER)
    assert list(apart.sheets) == list(together.sheets)
    assert apart.sheets == together.sheets
    assert apart.merged == together.merged
    assert apart.sheets["Licenses"][1][0]  # a real License ID, not an empty stand-in


def test_a_small_workbook_is_read_by_one_reader(
    books: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert readers_used(books["sample"], monkeypatch, read.PARALLEL_FROM_BYTES) == 1


@pytest.mark.parametrize("threshold", [0, ONE_READER])
def test_a_cell_calamine_refuses_on_the_second_thread_is_named_as_on_the_first(
    books: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    """A number cell holding text passes the checks; calamine refuses it, on either thread,
    and the error names the file and the sheet (never a traceback from the thread)."""
    path = Path(shutil.copy(books["sample"], tmp_path / "bad.xlsx"))
    part = part_of(path, "Licenses")

    def spoil(xml: bytes) -> bytes:
        spoilt, count = re.subn(rb'(<c r="H2"[^>]*>).*?</c>', rb"\1<v>soon</v></c>", xml)
        assert count == 1
        return spoilt

    rewrite(path, {part: spoil})
    with zipfile.ZipFile(path) as archive:
        sizes = {sheet: archive.getinfo(p).file_size for sheet, p in sheet_part_names(path).items()}
    assert max(sizes, key=lambda sheet: sizes[sheet]) == "Licenses"  # the one read apart
    monkeypatch.setattr(read, "PARALLEL_FROM_BYTES", threshold)
    with pytest.raises(WorkbookError) as raised:
        read.read_snapshot(path)
    assert f'{path}: the file is damaged: the sheet "Licenses" cannot be read' in str(raised.value)


class _NoThreads(ThreadPoolExecutor):
    """An executor on a machine out of threads: submit raises as CPython's does there
    (a process limit this test, run as root, cannot set for real)."""

    def submit(self, *args: object, **kwargs: object) -> Future[object]:  # type: ignore[override]
        raise RuntimeError("can't start new thread")


def test_with_no_thread_to_be_had_the_largest_sheet_is_read_with_the_others(
    books: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    together = snapshot(books["generated"], monkeypatch, ONE_READER)
    monkeypatch.setattr(read, "ThreadPoolExecutor", _NoThreads)
    assert readers_used(books["generated"], monkeypatch) == 1
    assert snapshot(books["generated"], monkeypatch, 0).sheets == together.sheets


@pytest.mark.parametrize("threshold", [0, ONE_READER])
def test_with_two_sheets_calamine_refuses_the_first_in_the_workbook_is_named(
    books: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    """Licenses is read on the second thread and Appeals here: the error named is the one a
    single reader meets first (Licenses), not whichever thread failed first."""
    path = Path(shutil.copy(books["sample"], tmp_path / "two.xlsx"))

    def spoil(cell: str) -> Callable[[bytes], bytes]:
        def edit(xml: bytes) -> bytes:
            spoilt, count = re.subn(
                rb'(<c r="' + cell.encode() + rb'"[^>]*>).*?</c>', rb"\1<v>soon</v></c>", xml
            )
            assert count == 1
            return spoilt

        return edit

    rewrite(path, {part_of(path, "Licenses"): spoil("H2"), part_of(path, "Appeals"): spoil("B2")})
    monkeypatch.setattr(read, "PARALLEL_FROM_BYTES", threshold)
    with pytest.raises(WorkbookError) as raised:
        read.read_snapshot(path)
    assert 'the sheet "Licenses" cannot be read' in str(raised.value)
