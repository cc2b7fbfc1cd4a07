"""The `hmis-licensing` command line.

Exit codes (SPEC §5): 0 done (warnings allowed); 1 errors in the workbook (listed on
stderr and on the Problems sheet); 2 a bad policy, bad arguments or an unreadable file.
No traceback reaches the user; set HMIS_LICENSING_DEBUG=1 to see one.

What is printed can never change what is done, nor make a false statement about the
file: output goes through `Console`, which escapes terminal control characters that came
from a workbook or an export, writes what a console cannot show as escapes (a Windows
console and "Nguyễn"), and stops writing when the reader goes away (`recalc ... | head`)
while the command carries on and saves. Every message after a failure says whether the
workbook had already been saved.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import errno
import io
import os
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import TextIO

import engine
from engine.errors import HmisLicensingError
from engine.model import Problem
from policy import adopted_policy_path, load_policy
from workbook.errors import UsageError
from workbook.hmis.importer import add_import_parser, run_import
from workbook.run import Outcome, evaluate
from workbook.tables import CellMap
from workbook.values import FIRST_PLAUSIBLE_DATE, LAST_PLAUSIBLE_DATE
from workbook.xlsx.package import check_workbook_file
from workbook.xlsx.read import read_snapshot
from workbook.xlsx.safesave import check_can_write, recorded_saves, workbook_lock
from workbook.xlsx.write import save_results

SAMPLE_NAME = "MoBoS-HMIS-Licensing-sample.xlsx"
_MAX_LISTED = 25
# An as-of date is a day a license can carry (as the Settings sheet's As Of): the windows
# reach back up to 100 years and the review period forward, inside the calendar.
FIRST_AS_OF = FIRST_PLAUSIBLE_DATE
LAST_AS_OF = LAST_PLAUSIBLE_DATE
# Terminal control characters (C0 but tab, newline and carriage return; DEL; C1) and the
# bidirectional overrides that make text display as something else.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write it as yyyy-mm-dd, e.g. 2026-11-24"
        ) from None
    if not FIRST_AS_OF <= day <= LAST_AS_OF:
        raise argparse.ArgumentTypeError(
            f"{text} is not a date a policy can be applied on (between {FIRST_AS_OF} and"
            f" {LAST_AS_OF})"
        )
    return day


def printable(text: str) -> str:
    """Text as it may reach a terminal: control characters shown as escapes (\\x1b)."""
    return _CONTROL.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


class Console(io.TextIOBase):
    """A stream for the user's console that never raises (see the module docstring)."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self.broken = False

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", None) or "utf-8"

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        try:
            return self.inner.isatty()
        except (OSError, ValueError):
            return False

    def write(self, text: str) -> int:
        if self.broken:
            return len(text)
        shown = printable(text)
        try:
            try:
                self.inner.write(shown)
            except UnicodeEncodeError:
                encoding = getattr(self.inner, "encoding", None) or "ascii"
                self.inner.write(shown.encode(encoding, "backslashreplace").decode(encoding))
        except (BrokenPipeError, ConnectionResetError):
            self._gone()
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.EINVAL):
                raise
            self._gone()
        return len(text)

    def flush(self) -> None:
        if self.broken:
            return
        try:
            self.inner.flush()
        except (BrokenPipeError, ConnectionResetError, ValueError):
            self._gone()
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.EINVAL):
                raise
            self._gone()

    def _gone(self) -> None:
        """The reader went away: write nothing more, not even when Python exits."""
        self.broken = True
        with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.inner.fileno())
            os.close(devnull)


@contextlib.contextmanager
def _console() -> Iterator[None]:
    """sys.stdout and sys.stderr as `Console`s while a command runs."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Console(saved[0]), Console(saved[1])  # type: ignore[assignment]
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = saved


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hmis-licensing",
        description="Apply the CoC's HMIS licensing policy to the shared workbook.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {engine.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    recalc = commands.add_parser(
        "recalc",
        help="recalculate the result sheets of a workbook",
        description="Read the input sheets, apply the policy and write Allotments,"
        " Inactivity Report, Revocations and Problems, and add a row to the Run Log.",
    )
    check = commands.add_parser(
        "check",
        help="check a workbook and report problems without writing anything",
    )
    for sub in (recalc, check):
        sub.add_argument("workbook", type=Path, help="the shared workbook (.xlsx)")
        sub.add_argument(
            "--policy",
            type=Path,
            help="policy file (default: the Settings sheet's Policy File, else policy.yaml"
            " beside the workbook, else the adopted policy)",
        )
        sub.add_argument(
            "--as-of",
            type=_date,
            dest="as_of",
            help="the date to judge on, yyyy-mm-dd (default: the Settings sheet's As Of,"
            " else today)",
        )
    recalc.add_argument(
        "--output",
        type=Path,
        help="write the recalculated workbook here instead of over WORKBOOK",
    )

    policy = commands.add_parser("policy", help="work with policy files")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    policy_check = policy_commands.add_parser(
        "check", help="validate a policy file (default: the adopted policy)"
    )
    policy_check.add_argument("file", type=Path, nargs="?", help="policy file to check")

    sample = commands.add_parser(
        "sample", help="copy the bundled sample workbook to try the commands on"
    )
    sample.add_argument(
        "destination",
        type=Path,
        nargs="?",
        default=Path("hmis-sample.xlsx"),
        help="where to write it (default: hmis-sample.xlsx)",
    )
    sample.add_argument("--force", action="store_true", help="overwrite an existing file")
    add_import_parser(commands, _date)
    _add_excel_commands(commands)
    return parser


def _add_excel_commands(commands: argparse._SubParsersAction) -> None:
    excel = commands.add_parser("excel", help="set up the Excel ribbon add-in")
    excel_commands = excel.add_subparsers(dest="excel_command", required=True)
    install = excel_commands.add_parser(
        "install",
        help="write the HMIS Licensing add-in (Recalculate button) for this Python",
        description="Build hmis_licensing.xlam for the Python running this command and"
        " print how to add it to Excel. Run it again after upgrading.",
    )
    install.add_argument(
        "--dir",
        type=Path,
        dest="folder",
        help='folder for the add-in (default: "HMIS Licensing" in your home folder)',
    )
    install.add_argument("--interpreter", help="the Python Excel should run (default: this Python)")
    install.add_argument(
        "--pythonpath",
        default="",
        help="folders Python should also import from, separated by ; (rarely needed)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hmis-licensing` command; returns the exit code."""
    with _console():
        parser = build_parser()
        args = parser.parse_args(argv)
        with recorded_saves() as saved:
            try:
                return _run(parser, args)
            except HmisLicensingError as exc:
                print(f"hmis-licensing: {exc}{_after(saved)}", file=sys.stderr)
                return exc.exit_code
            except KeyboardInterrupt:
                print(f"hmis-licensing: interrupted.{_after(saved, always=True)}", file=sys.stderr)
                return 2
            except Exception as exc:  # a bug: say so plainly instead of showing a traceback
                if os.environ.get("HMIS_LICENSING_DEBUG"):
                    raise
                print(
                    f"hmis-licensing: internal error ({type(exc).__name__}: {exc})."
                    f"{_after(saved, always=True)} Run again with HMIS_LICENSING_DEBUG=1 to"
                    " see details, and please report it.",
                    file=sys.stderr,
                )
                return 2


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command in ("recalc", "check"):
        return _recalc(args, write=args.command == "recalc")
    if args.command == "policy":
        return _policy_check(args.file)
    if args.command == "sample":
        return _sample(args.destination, args.force)
    if args.command == "import-activity":
        return run_import(args)
    if args.command == "excel":
        return _excel_install(args)
    parser.error(f"unknown command {args.command!r}")
    return 2


def _after(saved: list[Path], *, always: bool = False) -> str:
    """What happened to the workbook, when a command stops: the truth either way."""
    if saved:
        return (
            f" The workbook had already been saved ({saved[-1]}): do not run the command"
            " again to retry, it would add another Run Log row."
        )
    return " The workbook was not changed." if always else ""


def _recalc(args: argparse.Namespace, *, write: bool) -> int:
    """`recalc` holds the workbook's lock from reading to saving, so two runs cannot
    interleave (and lose a Run Log row); `check` only reads."""
    if not write:
        return _recalc_locked(args, write=False)
    destination: Path = getattr(args, "output", None) or args.workbook
    check_workbook_file(args.workbook)
    check_can_write(destination)
    with workbook_lock(destination):
        return _recalc_locked(args, write=True)


def _recalc_locked(args: argparse.Namespace, *, write: bool) -> int:
    workbook_path: Path = args.workbook
    snapshot = read_snapshot(workbook_path)
    outcome = evaluate(
        snapshot,
        workbook_folder=workbook_path.resolve().parent,
        policy_file=args.policy,
        as_of=args.as_of,
        today=dt.date.today(),
        now=dt.datetime.now(),
        ran_from="hmis-licensing " + args.command,
    )
    out = sys.stdout
    print(f"Workbook: {workbook_path}", file=out)
    print(f"Policy:   {outcome.policy_file.value} ({outcome.policy_file.origin})", file=out)
    if outcome.policy is not None:
        print(
            f"          {outcome.policy.name}, version {outcome.policy.version},"
            f" sha256 {outcome.policy.sha256[:12]}",
            file=out,
        )
    print(f"As of:    {outcome.as_of.value} ({outcome.as_of.origin})", file=out)
    _print_summary(outcome, out)
    _print_problems(outcome.problems, outcome.cells, sys.stderr)
    if write:
        destination: Path = getattr(args, "output", None) or workbook_path
        if outcome.run_log is None:  # pragma: no cover - evaluate always sets it
            raise RuntimeError("no Run Log entry")
        save_results(workbook_path, destination, outcome.tables, outcome.run_log)
        names = ", ".join(t.sheet.name for t in outcome.tables)
        print(f"Wrote:    {destination} ({names}, Run Log)", file=out)
        if outcome.errors:
            print(
                "          The other result sheets keep their last good content until"
                " the errors are fixed.",
                file=out,
            )
    return outcome.exit_code


def _print_summary(outcome: Outcome, out: TextIO) -> None:
    results = outcome.results
    if results is not None and not outcome.errors:
        summary = results.allotment_summary
        print(
            f"Licenses: {len(results.decisions)} active judged;"
            f" {len(results.revocations)} eligible for revocation",
            file=out,
        )
        if summary is not None:
            print(
                f"CE allotment: {summary.total_allotment} licenses over"
                f" {len(results.allotments)} regions (target {summary.target})",
                file=out,
            )
    print(
        f"Problems: {len(outcome.errors)} errors, {len(outcome.warnings)} warnings",
        file=out,
    )


def _print_problems(problems: Sequence[Problem], cells: CellMap, err: TextIO) -> None:
    for problem in problems[:_MAX_LISTED]:
        sheet, cell = cells.cell(problem.where)
        place = f"{sheet}!{cell}" if cell and not cell.startswith("row") else sheet
        if cell.startswith("row"):
            place = f"{sheet} {cell}"
        print(f"{problem.severity}: {place}: {problem.problem}", file=err)
        print(f"    How to fix: {problem.how_to_fix}", file=err)
    if len(problems) > _MAX_LISTED:
        print(
            f"... and {len(problems) - _MAX_LISTED} more (all are on the Problems sheet).",
            file=err,
        )


def _policy_check(path: Path | None) -> int:
    chosen = path or adopted_policy_path()
    policy = load_policy(chosen)
    print(f"{chosen}: OK")
    print(f"  {policy.name}, version {policy.version}, effective {policy.effective_date}")
    print(f"  sha256 {policy.sha256}")
    rules = policy.inactivity
    allot = policy.ce_allotment
    print(
        f"  §1 inactive after {rules.client_data_window.describe()} without client data;"
        f" {rules.first_sign_in_window.describe()} to sign in"
    )
    print(
        f"  §2 {allot.target} CE licenses, minimum {allot.minimum}, rounding {allot.rounding},"
        f" method {allot.method}"
    )
    return 0


def _excel_install(args: argparse.Namespace) -> int:
    from workbook.excel.addin.install import install, require_folder

    folder = require_folder(args.folder) if args.folder else None
    installed = install(folder, interpreter=args.interpreter, pythonpath=args.pythonpath)
    return 1 if installed.check else 0


def _sample(destination: Path, force: bool) -> int:
    if destination.exists() and not force:
        raise UsageError(
            f"{destination}: already exists.", fix="Choose another name or add --force."
        )
    source = resources.files("workbook").joinpath("sample", SAMPLE_NAME)
    with resources.as_file(source) as path:
        shutil.copyfile(path, destination)
    print(f"Wrote the sample workbook to {destination}")
    print(f"Try: hmis-licensing recalc {destination} --as-of 2026-11-24")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
