"""The command line's contract (SPEC §5) where every writer and reporter must agree: a
destination that is not a regular file is refused before anything is written, saves keep
the old file's group, --json is one object on stdout with nothing on stderr, and every
refusal says what would fix it.

Real files, real FIFOs (os.mkfifo) and, where the user may make them, real device nodes
(os.mknod, in tmp_path only: never a device under /dev).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, policy_text
from tests.hmis_exports import export_files, row, write_folder
from workbook.cli import main

AS_OF = "2026-11-24"
NOT_A_FILE = "is not a file (a device, pipe or socket); it was not changed."


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _device(path: Path) -> Path:
    """A character device node like /dev/null (1, 3), made in tmp_path; skip where the
    user may not make one (not root, or a container that forbids it)."""
    try:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here ({exc})")
    return path


NODES: dict[str, Callable[[Path], Path]] = {"fifo": _fifo, "device": _device}


def _kind(path: Path) -> int:
    return stat.S_IFMT(os.lstat(path).st_mode)


def _book(tmp_path: Path, name: str = "book.xlsx") -> Path:
    book = tmp_path / name
    shutil.copyfile(SAMPLE, book)
    return book


class _PipeReader:
    """A read end held open on a FIFO, so that a writer that (wrongly) opened it would not
    hang the test but leave its bytes here to be seen."""

    def __init__(self, path: Path) -> None:
        self.handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)

    def read(self) -> bytes:
        try:
            return os.read(self.handle, 1 << 16)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        os.close(self.handle)


@pytest.fixture
def node_maker(request: pytest.FixtureRequest) -> Iterator[Callable[[Path], Path]]:
    readers: list[_PipeReader] = []

    def make(path: Path) -> Path:
        NODES[request.param](path)
        if request.param == "fifo":
            readers.append(_PipeReader(path))
        return path

    yield make
    try:
        for reader in readers:
            assert reader.read() == b"", "something was written into the pipe"
    finally:
        for reader in readers:
            reader.close()


def _writer_commands(tmp_path: Path, target: Path) -> dict[str, list[str]]:
    book = _book(tmp_path)
    return {
        "sample --force": ["sample", str(target), "--force"],
        "init --force": ["init", str(target), "--force"],
        "packet --output": [
            *("packet", str(book), "--committee", "ce", "--as-of", AS_OF),
            *("--output", str(target)),
        ],
        "diff --output": ["diff", str(book), "--as-of", AS_OF, "--output", str(target)],
        "recalc --output": ["recalc", str(book), "--as-of", AS_OF, "--output", str(target)],
    }


SUFFIXES = {
    "sample --force": ".xlsx",
    "init --force": ".xlsx",
    "packet --output": ".pdf",
    "diff --output": ".md",
    "recalc --output": ".xlsx",
}


@pytest.mark.parametrize("node_maker", list(NODES), indirect=True)
@pytest.mark.parametrize("command", list(SUFFIXES))
def test_every_writer_refuses_a_pipe_or_a_device(
    tmp_path: Path, node_maker: Callable[[Path], Path], command: str, capsys
) -> None:
    target = tmp_path / f"target{SUFFIXES[command]}"
    kind = _kind(node_maker(target))
    argv = _writer_commands(tmp_path, target)[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{target}: {NOT_A_FILE}" in err
    assert "How to fix:" in err
    assert _kind(target) == kind  # still the pipe or the device, not a regular file
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("node_maker", list(NODES), indirect=True)
@pytest.mark.parametrize("command", ["sample --force", "diff --output", "packet --output"])
def test_a_link_to_a_pipe_or_device_is_refused_too(
    tmp_path: Path, node_maker: Callable[[Path], Path], command: str, capsys
) -> None:
    node = node_maker(tmp_path / "node")
    link = tmp_path / f"link{SUFFIXES[command]}"
    link.symlink_to(node)
    assert main(_writer_commands(tmp_path, link)[command]) == 2
    assert NOT_A_FILE in capsys.readouterr().err
    assert link.is_symlink() and _kind(node) in (stat.S_IFIFO, stat.S_IFCHR)


def test_a_refused_writer_says_so_in_its_json(tmp_path: Path, capsys) -> None:
    target = _fifo(tmp_path / "report.json")
    reader = _PipeReader(target)
    try:
        assert main(["diff", str(_book(tmp_path)), "--json", "--output", str(target)]) == 2
        assert reader.read() == b""
    finally:
        reader.close()
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert report["command"] == "diff" and report["outcome"] == "refused"
    assert NOT_A_FILE in report["error"] and report["how_to_fix"]


@pytest.mark.parametrize("node_maker", list(NODES), indirect=True)
def test_notices_refuse_a_draft_name_taken_by_a_pipe_or_device(
    tmp_path: Path, node_maker: Callable[[Path], Path], capsys
) -> None:
    book = _book(tmp_path)
    first = tmp_path / "first"
    assert main(["notices", str(book), "--as-of", AS_OF, "--output", str(first)]) == 0
    names = sorted(p.name for p in first.iterdir())
    folder = tmp_path / "drafts"
    folder.mkdir()
    taken = node_maker(folder / names[-1])  # the last draft: the others come first
    capsys.readouterr()
    assert main(["notices", str(book), "--as-of", AS_OF, "--output", str(folder)]) == 2
    assert f"{taken}: {NOT_A_FILE}" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == [taken.name]  # no draft written before it
    assert _kind(taken) in (stat.S_IFIFO, stat.S_IFCHR)


def test_force_still_replaces_a_regular_file_and_a_link_to_one(tmp_path: Path) -> None:
    old = tmp_path / "old.xlsx"
    old.write_bytes(b"not a workbook")
    assert main(["sample", str(old), "--force"]) == 0
    assert old.read_bytes() == SAMPLE.read_bytes()
    kept = tmp_path / "kept.xlsx"
    kept.write_bytes(b"what the link named")
    link = tmp_path / "link.xlsx"
    link.symlink_to(kept)
    assert main(["init", str(link), "--force"]) == 0
    assert not link.is_symlink() and link.stat().st_size > 1000  # the link is replaced
    assert kept.read_bytes() == b"what the link named"  # what it named is left alone


# ------------------------------------------------------------------- diff --output


def test_diff_output_is_saved_atomically_over_the_old_report(tmp_path: Path) -> None:
    book = _book(tmp_path)
    report = tmp_path / "report.md"
    report.write_text("the old report\n", encoding="utf-8")
    report.chmod(0o640)
    inode = report.stat().st_ino
    assert main(["diff", str(book), "--as-of", AS_OF, "--output", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    assert "the old report" not in text and text.strip()
    assert report.stat().st_ino != inode  # a new file moved over it, not the old one cut
    assert stat.S_IMODE(report.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx", "report.md"]


def test_diff_output_through_a_link_writes_the_report_it_names(tmp_path: Path) -> None:
    book = _book(tmp_path)
    real = tmp_path / "real.json"
    real.write_text("{}", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert main(["diff", str(book), "--as-of", AS_OF, "--json", "--output", str(link)]) == 0
    assert link.is_symlink()
    assert json.loads(real.read_text(encoding="utf-8"))["workbook"] == str(book)


def test_diff_output_in_a_missing_folder_is_refused_before_the_work(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no such folder" / "report.md"
    assert main(["diff", str(tmp_path / "not read.xlsx"), "--output", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "How to fix: Create the folder first" in err


# ------------------------------------------------------------------------ the group


def _other_group() -> int:
    """A group the file can be given that is not the user's own: any, as root; else one
    of the user's other groups."""
    mine = os.getegid()
    if os.geteuid() == 0:
        return 1 if mine != 1 else 2
    others = [g for g in os.getgroups() if g != mine]
    if not others:
        pytest.skip("the user belongs to no other group")
    return others[0]


def _shared(path: Path) -> int:
    group = _other_group()
    os.chown(path, -1, group)
    path.chmod(0o660)
    return group


@pytest.mark.skipif(not hasattr(os, "chown"), reason="POSIX groups")
@pytest.mark.parametrize("command", ["recalc", "import-activity", "sample --force", "init --force"])
def test_a_replaced_workbook_keeps_its_group_and_mode(tmp_path: Path, command: str) -> None:
    book = _book(tmp_path)
    group = _shared(book)
    inode = book.stat().st_ino
    export = write_folder(
        tmp_path / "export",
        export_files({"Services": [row("4101", "2026-06-01 09:00:00")]}, users=["4101"]),
    )
    argv = {
        "recalc": ["recalc", str(book), "--as-of", AS_OF],
        "import-activity": ["import-activity", str(book), str(export), "--as-of", AS_OF],
        "sample --force": ["sample", str(book), "--force"],
        "init --force": ["init", str(book), "--force"],
    }[command]
    assert main(argv) in (0, 1)
    status = book.stat()
    assert status.st_ino != inode  # replaced, not written in place
    assert status.st_gid == group
    assert stat.S_IMODE(status.st_mode) == 0o660


def test_a_new_file_gets_the_users_own_group(tmp_path: Path) -> None:
    new = tmp_path / "new.xlsx"
    assert main(["sample", str(new)]) == 0
    folder_group = tmp_path.stat().st_gid  # what a new file in this folder gets
    assert new.stat().st_gid in (os.getegid(), folder_group)


# ------------------------------------------------------ --json: nothing on stderr


@pytest.mark.parametrize("command", ["packet", "notices"])
def test_review_json_holds_the_workbooks_warnings_and_stderr_stays_empty(
    tmp_path: Path, command: str, capsys
) -> None:
    book = _book(tmp_path)
    where = ["--committee", "ce"] if command == "packet" else ["--output", str(tmp_path / "n")]
    assert main([command, str(book), "--as-of", AS_OF, "--json", *where]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert report["command"] == command
    assert report["outcome"] == "ok" and report["exit_code"] == 0
    places = {(p["severity"], p["sheet"], p["cell"]) for p in report["problems"]}
    assert ("Warning", "Intakes", "C7") in places  # the sample's tied intakes
    assert all(p["how_to_fix"] for p in report["problems"])
    assert isinstance(report["notes"], list)
    assert report["packets" if command == "packet" else "drafts"]  # the old keys are kept


def test_review_without_json_still_lists_the_warnings_on_stderr(tmp_path: Path, capsys) -> None:
    book = _book(tmp_path)
    assert main(["packet", str(book), "--committee", "ce", "--as-of", AS_OF]) == 0
    assert "Warning: Intakes!C7:" in capsys.readouterr().err


def test_review_json_with_a_bad_policy_is_one_object(tmp_path: Path, capsys) -> None:
    book = _book(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(policy_text(target="-5"), encoding="utf-8")
    argv = ["packet", str(book), "--committee", "ce", "--as-of", AS_OF, "--json"]
    assert main([*argv, "--policy", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert report["outcome"] == "bad policy" and report["exit_code"] == 2
    assert report["packets"] == [] and report["problems"]


# ------------------------------------------------------------------- JSON shapes


def test_diff_and_policy_test_json_begin_with_the_common_keys(tmp_path: Path, capsys) -> None:
    assert main(["diff", str(_book(tmp_path)), "--as-of", AS_OF, "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert (diff["command"], diff["outcome"], diff["exit_code"]) == ("diff", "ok", 0)
    assert {"workbook", "base", "new", "sections", "counts"} <= diff.keys()  # kept
    assert main(["policy", "test", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert (run["command"], run["outcome"], run["exit_code"]) == ("policy test", "ok", 0)
    assert {"policy", "passed", "failed", "errors", "scenarios"} <= run.keys()


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["check", "x.xlsx", "--bogus", "--json"], "check"),
        (["recalc", "x.xlsx", "--json", "--nope"], "recalc"),
        (["policy", "check", "p.yaml", "--bogus", "--json"], "policy check"),
        (["diff", "x.xlsx", "--format", "json", "--bogus"], "diff"),
        (["bogus", "--json"], ""),  # no command word: none can be named
    ],
)
def test_a_refused_command_line_names_its_command(argv: list[str], command: str, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert report["command"] == command and report["outcome"] == "refused"


# ------------------------------------------------------------------ policy check


def _changed_policy(tmp_path: Path) -> Path:
    """The adopted values with one changed, its version not raised: exit 1."""
    changed = tmp_path / "changed.yaml"
    changed.write_text(policy_text(target="999"), encoding="utf-8")
    return changed


def test_policy_check_quiet_prints_only_the_problem_on_stderr(tmp_path: Path, capsys) -> None:
    changed = _changed_policy(tmp_path)
    assert main(["policy", "check", str(changed), "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{changed}: Changed but still" in err and "raise policy.version" in err
    assert "OK" not in err


def test_policy_check_headline_says_not_ok_when_it_exits_1(tmp_path: Path, capsys) -> None:
    assert main(["policy", "check", str(_changed_policy(tmp_path))]) == 1
    out = capsys.readouterr().out
    headline = out.splitlines()[0]
    assert "NOT OK" in headline and not headline.endswith(": OK")
    assert "Changed but still" in out


def test_policy_check_quiet_of_a_good_policy_prints_nothing(capsys) -> None:
    assert main(["policy", "check", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_policy_check_of_a_folder_says_what_to_give(tmp_path: Path, capsys) -> None:
    assert main(["policy", "check", str(tmp_path)]) == 2
    assert "is a folder, not a policy file.\n  How to fix: Give the path of the policy file" in (
        capsys.readouterr().err
    )
    assert main(["policy", "check", str(tmp_path), "--json"]) == 2
    assert "policy.yaml" in json.loads(capsys.readouterr().out)["fix"]


# --------------------------------------------------------------- wording of refusals


@pytest.mark.parametrize("node_maker", list(NODES), indirect=True)
def test_policy_test_on_a_pipe_or_device_says_it_is_not_a_file(
    tmp_path: Path, node_maker: Callable[[Path], Path], capsys
) -> None:
    path = node_maker(tmp_path / "scenarios.yaml")
    assert main(["policy", "test", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: is not a file (a device, pipe or socket)" in err
    assert "no such" not in err


@pytest.mark.parametrize("node_maker", list(NODES), indirect=True)
def test_import_refuses_an_export_whose_client_file_is_a_pipe_or_device(
    tmp_path: Path, node_maker: Callable[[Path], Path], capsys
) -> None:
    book = _book(tmp_path)
    before = book.read_bytes()
    export = write_folder(
        tmp_path / "export",
        export_files({"Services": [row("4101", "2026-06-01 09:00:00")]}, users=["4101"]),
    )
    enrollment = node_maker(export / "Enrollment.csv")
    assert main(["import-activity", str(book), str(export), "--as-of", AS_OF]) == 2
    err = capsys.readouterr().err
    assert f"{enrollment}: is not a regular file" in err
    assert "no HMIS client-data files found" not in err and "How to fix:" in err
    assert book.read_bytes() == before


def test_a_running_recalculation_refusal_says_what_to_do(tmp_path: Path, capsys) -> None:
    book = _book(tmp_path)
    lock = tmp_path / f".{book.name}.hmis-licensing.lock"
    record = {"pid": os.getpid(), "host": socket.gethostname(), "started": "now"}
    lock.write_text(json.dumps(record), encoding="utf-8")  # this process: alive
    assert main(["recalc", str(book), "--as-of", AS_OF]) == 2
    err = capsys.readouterr().err
    assert "another recalculation is running" in err
    assert "How to fix: Wait for it to finish and run again" in err
    assert main(["recalc", str(book), "--as-of", AS_OF, "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["how_to_fix"].startswith("Wait for it")


def _unreadable_as_of(tmp_path: Path) -> Path:
    """The sample with its Settings As Of (B2) typed month first, as text: an Error."""
    import openpyxl

    book = _book(tmp_path)
    workbook = openpyxl.load_workbook(book)
    assert workbook["Settings"]["A2"].value == "As Of"
    workbook["Settings"]["B2"] = "11/24/2026"
    workbook.save(book)
    return book


def test_an_unreadable_as_of_is_reported_as_not_read_never_as_today(tmp_path: Path, capsys) -> None:
    """With no --as-of, an As Of that cannot be read gives the run no date: before, every
    report said `as of today` (JSON `"from": "today"`, the screen, the Run Log's As Of),
    a date as of which no result was computed."""
    import openpyxl

    book = _unreadable_as_of(tmp_path)
    not_read = "As of:    not read: Settings!B2 (As Of) could not be read, so the results"
    assert main(["check", str(book), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["as_of"] == {"date": None, "from": "unreadable"}
    assert report["counts"]["licenses_judged"] is None

    assert main(["recalc", str(book)]) == 1
    out = capsys.readouterr().out
    assert not_read + " dated by it are held back (see Problems)" in out.splitlines()
    wrote = next(line for line in out.splitlines() if line.startswith("Wrote:"))
    assert "Findings History" not in wrote and wrote.endswith(", Run Log)")  # none appended
    workbook = openpyxl.load_workbook(book, read_only=True)
    try:
        rows = list(workbook["Run Log"].iter_rows(values_only=True))
        header, last = rows[0], rows[-1]
        entry = dict(zip(header, last, strict=False))
        assert entry["As Of"] is None and entry["Ran From"] == "hmis-licensing recalc"
        assert workbook["Problems"]["A1"].value.startswith("Problems - As Of not read - policy ")
    finally:
        workbook.close()

    # The commands that read as check does agree: no date, never today's.
    drafts = tmp_path / "drafts"
    assert main(["notices", str(book), "--output", str(drafts), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["as_of"] is None
    assert main(["packet", str(book), "--committee", "ce", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["as_of"] is None
    assert main(["diff", str(book), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["as_of"] is None
    assert main(["diff", str(book)]) == 1
    assert "as of not read: Settings!B2 (As Of) could not be read" in capsys.readouterr().out

    # An import needs the date too: it stops, and says why in the same words.
    files = export_files({"Enrollment": [row("4102", "2026-10-01")]})
    export = write_folder(tmp_path / "export", files)
    assert main(["import-activity", str(book), str(export), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["as_of"] == {"date": None, "from": "unreadable"}
    # With --as-of the cell is not used: the date is the one given.
    assert main(["check", str(book), "--as-of", AS_OF, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["as_of"] == {"date": AS_OF, "from": "--as-of"}


@pytest.mark.parametrize("command", ["init", "sample"])
def test_init_and_sample_write_only_an_xlsx(tmp_path: Path, capsys, command: str) -> None:
    """`sample x.csv` wrote workbook bytes under a name Excel would not open as one."""
    target = tmp_path / "x.csv"
    assert main([command, str(target), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["outcome"] == "refused" and "a new workbook must end in .xlsx" in report["error"]
    assert not target.exists()


def test_init_and_sample_take_json_and_quiet(tmp_path: Path, capsys) -> None:
    """SPEC §5: every command that reports takes --json. `init` and `sample` refused it
    (`unrecognized arguments: --json`); now each prints one object, and nothing else."""
    new = tmp_path / "new.xlsx"
    assert main(["init", str(new), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert captured.err == ""
    assert {k: report[k] for k in ("command", "outcome", "exit_code", "written")} == {
        "command": "init",
        "outcome": "ok",
        "exit_code": 0,
        "written": str(new),
    }
    assert report["policy"]["version"] == "1.1.0" and len(report["policy"]["sha256"]) == 64
    assert new.is_file()
    # Refused as every command is with --json: one object, exit 2, the file kept.
    assert main(["init", str(new), "--json"]) == 2
    refused = json.loads(capsys.readouterr().out)
    assert (refused["command"], refused["outcome"], refused["exit_code"]) == ("init", "refused", 2)
    assert "already exists" in refused["error"] and "--force" in refused["how_to_fix"]

    copy = tmp_path / "sample.xlsx"
    assert main(["sample", str(copy), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "command": "sample",
        "outcome": "ok",
        "exit_code": 0,
        "written": str(copy),
    }
    assert captured.err == "" and copy.read_bytes() == SAMPLE.read_bytes()
    assert main(["sample", str(copy), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["outcome"] == "refused"

    # --quiet: only problems, and writing a file is none.
    assert main(["sample", str(copy), "--force", "--quiet"]) == 0
    assert main(["init", str(tmp_path / "quiet.xlsx"), "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "quiet.xlsx").is_file()
