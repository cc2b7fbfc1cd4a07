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
import itertools
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

# The rest is imported where a command needs it, so that `--version` and `--help` start
# quickly (benchmarks/run.py times them).
import engine
from engine.errors import HmisLicensingError
from engine.words import plural
from workbook.errors import OutputError, UsageError
from workbook.xlsx.safesave import (
    check_can_write,
    recorded_saves,
    refuse_not_a_file,
    workbook_lock,
)

if TYPE_CHECKING:
    from engine.model import Problem
    from workbook.hmis.importer import ImportOutcome
    from workbook.results import ResultTable, RunLogEntry
    from workbook.run import Choice, Outcome
    from workbook.tables import CellMap

SAMPLE_NAME = "MoBoS-HMIS-Licensing-sample.xlsx"
_MAX_LISTED = 25
# Terminal control characters (C0 but tab, newline and carriage return; DEL; C1) and the
# bidirectional overrides that make text display as something else.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(text: str) -> dt.date:
    # An as-of date is a day a license can carry (as the Settings sheet's As Of): the
    # windows reach back up to 100 years and the review period forward, in the calendar.
    from workbook.values import FIRST_PLAUSIBLE_DATE as FIRST_AS_OF
    from workbook.values import LAST_PLAUSIBLE_DATE as LAST_AS_OF

    try:  # only yyyy-mm-dd: fromisoformat would also take 20261124 and 2026-W48-2
        if not _ISO_DAY.fullmatch(text):
            raise ValueError(text)
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

    def __init__(self, inner: TextIO | None) -> None:
        # None: the stream was closed before the command started (`>&-`), so Python has
        # no sys.stdout; what would be printed is dropped, as for a reader that went away.
        self.inner: TextIO = inner if inner is not None else io.StringIO()
        self.broken = inner is None

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
                self._refused(exc)
            self._gone()
        return len(text)

    def _refused(self, exc: OSError) -> None:
        """The stream itself failed (`> /dev/full`): a plain error, exit 2, not a bug."""
        self._gone()  # the message goes to the other stream, never to this one again
        raise OutputError(
            f"the output could not be written ({exc.strerror or exc}).",
            fix="Send the output somewhere with room (or to a file on another disk).",
        ) from None

    def flush(self) -> None:
        if self.broken:
            return
        try:
            self.inner.flush()
        except (BrokenPipeError, ConnectionResetError, ValueError):
            self._gone()
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.EINVAL):
                self._refused(exc)
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
    sys.stdout, sys.stderr = Console(saved[0]), Console(saved[1])
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = saved


class _Parser(argparse.ArgumentParser):
    """argparse, but a command line that asks for --json (or --format json) gets its
    refusal of a bad argument (`--as-of nope`) as the one JSON object on stdout that the
    README promises, not argparse's usage on stderr."""

    json_refusals = False  # set by `main` for each command line
    argv: Sequence[str] = ()  # likewise: the words the command word is found among

    def error(self, message: str) -> NoReturn:
        if not _Parser.json_refusals:
            super().error(message)
        # A subcommand's parser knows its name; the top parser refusing what follows a
        # command (`check x.xlsx --bogus`) names it from the command line's words.
        command = self.prog.removeprefix("hmis-licensing").strip() or self._command_word()
        refusal = {
            "command": command,
            "outcome": "refused",
            "exit_code": 2,
            "error": message,
            "how_to_fix": f"Correct the command line; `{self.prog} --help` lists what it takes.",
        }
        print(json.dumps(refusal, indent=2))
        raise SystemExit(2)

    def _command_word(self) -> str:
        """The command the line names: its first word that is a command (with `policy`'s
        and `excel`'s own command after it), or "" when none is (`bogus --json`)."""
        words = [w for w in _Parser.argv if not w.startswith("-")]
        commands = _subcommands(self)
        for i, word in enumerate(words):
            if word in commands:
                inner = _subcommands(commands[word])
                after = words[i + 1] if i + 1 < len(words) else None
                return f"{word} {after}" if after in inner else word
        return ""


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """A parser's commands by name (none for a parser without them)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _asks_for_json(argv: Sequence[str]) -> bool:
    words = list(argv)
    pairs = itertools.pairwise(words)
    return "--json" in words or "--format=json" in words or ("--format", "json") in pairs


def build_parser() -> argparse.ArgumentParser:
    from workbook.layout import APPENDED_SHEETS, POLICY_SHEET, RESULT_SHEETS

    parser = _Parser(
        prog="hmis-licensing",
        description="Apply the CoC's HMIS licensing policy to the shared workbook.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {engine.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    replaced = ", ".join(s.name for s in RESULT_SHEETS if s not in APPENDED_SHEETS)
    appended = " and ".join(s.name for s in APPENDED_SHEETS)
    recalc = commands.add_parser(
        "recalc",
        help="recalculate the result sheets of a workbook",
        description="Read the input sheets, apply the policy and replace the result sheets"
        f" ({replaced}); add rows to {appended}. Input sheets are never changed.",
        epilog=f"Writes: WORKBOOK (or --output): {replaced}; appends to {appended}."
        f" {_EXIT_CODES} Example: hmis-licensing recalc coc-licenses.xlsx --as-of 2026-11-24",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check = commands.add_parser(
        "check",
        help="check a workbook and report problems without writing anything",
        description="Do everything recalc does except writing: list the problems and, with"
        " --json, every license's decision.",
        epilog=f"Writes: nothing. {_EXIT_CODES} Example: hmis-licensing check"
        " coc-licenses.xlsx --json",
    )
    for sub in (recalc, check):
        sub.add_argument("workbook", type=Path, help="the shared workbook (.xlsx)")
        sub.add_argument(
            "--policy",
            type=Path,
            help="policy file (default: the Settings sheet's Policy File, else a sheet named"
            f" {POLICY_SHEET}, else policy.yaml beside the workbook, else the adopted policy)",
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
        "check",
        help="validate a policy file (default: the adopted policy)",
        epilog="Writes: nothing. Exit codes: 0 the policy is valid (and adopted, or a new"
        " version); 1 it is valid but changed from the adopted file of the same version"
        " (raise policy.version), or an adopted file was edited; 2 it is not valid (the"
        " file, line and key are named). Example: hmis-licensing policy check policy.yaml",
    )
    policy_check.add_argument("file", type=Path, nargs="?", help="policy file to check")
    for sub in (recalc, check, policy_check):
        _add_reporting_options(sub)

    sample = commands.add_parser(
        "sample",
        help="copy the bundled sample workbook to try the commands on",
        description="Copy the bundled sample workbook (ten Missouri Balance of State regions,"
        " fictional organizations and licenses, every finding and exception on 2026-11-24).",
        epilog="Writes: FILE (default hmis-sample.xlsx; nothing else). Exit codes: 0"
        " written; 2 FILE exists (add --force), is a pipe or a device, or cannot be written."
        ' --json prints one object: {"command", "outcome", "exit_code", "written"}.'
        " Example: hmis-licensing sample hmis-sample.xlsx",
    )
    sample.add_argument(
        "destination",
        type=Path,
        nargs="?",
        default=Path("hmis-sample.xlsx"),
        help="where to write it (default: hmis-sample.xlsx)",
    )
    sample.add_argument("--force", action="store_true", help="overwrite an existing file")

    init = commands.add_parser(
        "init",
        help="write a new, empty workbook to start from",
        description="Write a new workbook with every input sheet (headers, drop-downs that"
        " refuse bad entries, date formats, Excel Tables), an Instructions sheet and the"
        " Settings sheet, for a CoC that has no workbook yet.",
        epilog="Writes: FILE (nothing else). Exit codes: 0 written; 2 bad arguments, a bad"
        ' policy or FILE exists. --json prints one object: {"command", "outcome",'
        ' "exit_code", "written", "policy"}. Example: hmis-licensing init coc-licenses.xlsx',
    )
    init.add_argument("file", type=Path, help="the new workbook (.xlsx)")
    init.add_argument(
        "--policy",
        type=Path,
        help="the policy whose license types the License Type drop-down lists"
        " (default: the adopted policy)",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    for sub in (sample, init):
        _add_reporting_options(sub)
    _add_import_parser(commands)
    _add_review_parsers(commands, _date)
    _add_diff_parser(commands, _date)
    _add_policy_test_parser(policy_commands)
    _add_excel_commands(commands)
    return parser


_EXIT_CODES = (
    "Exit codes: 0 done (warnings allowed); 1 errors in the workbook (listed, and on the"
    " Problems sheet); 2 a bad policy, bad arguments or an unreadable file."
)


# `diff --format`: how its report is written.
DIFF_FORMATS = ("markdown", "json")
# The monthly review's documents (workbook/review/commands.py).
REVIEW_COMMANDS = ("packet", "notices")


def _add_review_parsers(
    commands: argparse._SubParsersAction, date_type: Callable[[str], dt.date]
) -> None:
    """`packet` and `notices`, with the options `check` has (policy, as-of date)."""
    from workbook.review.files import COMMITTEES  # light: not the packet itself

    packet = commands.add_parser(
        "packet",
        help="write a committee's meeting packet (PDF) from the workbook",
        description="Read the workbook as `check` does and write the packet the committee"
        " reads at its monthly meeting, as a PDF for Letter paper. Writes nothing into the"
        " workbook.",
        epilog=f"Writes: the PDF (--output, else beside the workbook). {_EXIT_CODES}"
        " Example: hmis-licensing packet coc-licenses.xlsx --committee performance",
    )
    packet.add_argument(
        "--committee",
        required=True,
        choices=COMMITTEES,
        help="performance (inactivity, appeals, watch list) or ce (allotments, reassignment)",
    )
    packet.add_argument(
        "--output",
        type=Path,
        help="the PDF to write (default: beside the workbook, named"
        " '<workbook> - <committee> packet <as of>.pdf')",
    )
    notices = commands.add_parser(
        "notices",
        help="write e-mail drafts (.eml) to organizations and CE Leads",
        description="One draft per organization with licenses eligible for revocation or on"
        " the watch list (to its Contact Email), and one per region (to its CE Lead Email)."
        " Drafts are never sent.",
        epilog=f"Writes: .eml drafts into FOLDER (nothing into the workbook). {_EXIT_CODES}"
        " Example: hmis-licensing notices coc-licenses.xlsx --output drafts",
    )
    notices.add_argument(
        "--output", type=Path, required=True, help="the folder for the drafts (made if missing)"
    )
    for sub in (packet, notices):
        sub.add_argument("workbook", type=Path, help="the shared workbook (.xlsx)")
        sub.add_argument("--policy", type=Path, help="policy file (default: as for check)")
        sub.add_argument(
            "--as-of", type=date_type, dest="as_of", help="the date to judge on, yyyy-mm-dd"
        )
        sub.add_argument("--json", action="store_true", help="print what was written as JSON")


def _add_diff_parser(
    commands: argparse._SubParsersAction, date_type: Callable[[str], dt.date]
) -> None:
    """`hmis-licensing diff WORKBOOK [--base-policy OLD] [--policy NEW] [--as-of] [--format]`."""
    command = commands.add_parser(
        "diff",
        help="show what a policy change would change in a workbook (writes nothing)",
        description="Recalculate WORKBOOK under two policies without writing anything, and"
        " report the parameters that changed, each region whose allotment, in use or"
        " available changes, each license whose finding, exception or eligibility changes"
        " (with both explanations), the watch list's changes and counts.",
        epilog="Writes: nothing (the report goes to the screen, or to --output). Exit codes:"
        " 0 whether or not anything changed; 1 the workbook has errors; 2 a bad policy, bad"
        " arguments or an unreadable file. Example: hmis-licensing diff coc-licenses.xlsx"
        " --policy policy.yaml",
    )
    command.add_argument("workbook", type=Path, help="the workbook (.xlsx); it is only read")
    command.add_argument(
        "--base-policy",
        type=Path,
        dest="base_policy",
        help="the policy as it is (default: the adopted policy shipped with hmis-licensing)",
    )
    command.add_argument(
        "--policy",
        type=Path,
        help="the changed policy (default: the policy recalc would use for WORKBOOK)",
    )
    command.add_argument(
        "--as-of",
        type=date_type,
        dest="as_of",
        help="the date to judge on, yyyy-mm-dd (default: the Settings sheet's As Of, else today)",
    )
    command.add_argument(
        "--format", choices=DIFF_FORMATS, default="markdown", help="markdown (default) or json"
    )
    command.add_argument(
        "--json",
        action="store_const",
        const="json",
        dest="format",
        help="the same as --format json",
    )
    command.add_argument(
        "--output", type=Path, help="write the report to this file instead of the screen"
    )


def _add_policy_test_parser(policy_commands: argparse._SubParsersAction) -> None:
    """`hmis-licensing policy test [PATH ...] [--policy FILE] [--json]`."""
    command = policy_commands.add_parser(
        "test",
        help="run policy scenarios (YAML) and report each failure",
        description="Run the YAML scenarios in PATH (files or folders; default: the"
        " scenarios shipped with hmis-licensing, one per clause of the policy) against a"
        " policy, and report each failure with its file, line, scenario, the value expected"
        " and found, and the row's Explanation.",
        epilog="Writes: nothing. Exit codes: 0 all passed; 1 some failed; 2 a scenario could"
        " not run (only it: the file's others still run), or a scenario file or the policy"
        " cannot be used. Example: hmis-licensing policy test scenarios/ --policy policy.yaml",
    )
    command.add_argument(
        "paths", type=Path, nargs="*", metavar="PATH", help="scenario files or folders"
    )
    command.add_argument(
        "--policy",
        type=Path,
        help="the policy to test (default: the adopted policy shipped with hmis-licensing)",
    )
    command.add_argument("--json", action="store_true", help="report as JSON")


def _add_import_parser(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "import-activity",
        help="update Last Client Data Entry and Client Entries (Window) from an HMIS export",
        description="Read a HUD HMIS CSV export (FY2022, FY2024 or FY2026; a .zip or a"
        " folder), find each UserID's latest client-data activity and the rows in the §1.1"
        " window, and update those two columns on the Licenses rows whose HMIS User ID"
        " matches. Last Client Data Entry only ever moves later. Only UserID and the"
        " three audit dates are read from client files. Then run recalc.",
        epilog="Writes: WORKBOOK (or --output): two columns of Licenses and a Run Log row;"
        f" nothing else. {_EXIT_CODES} Example: hmis-licensing import-activity"
        " coc-licenses.xlsx hmis-export.zip --as-of 2026-11-24",
    )
    command.add_argument("workbook", type=Path, help="the shared workbook (.xlsx)")
    command.add_argument("export", type=Path, help="the HMIS CSV export: a .zip or a folder")
    command.add_argument(
        "--as-of",
        type=_date,
        dest="as_of",
        help="activity after this date is ignored; the window ends on it, yyyy-mm-dd"
        " (default: the Settings sheet's As Of, else today)",
    )
    command.add_argument(
        "--policy",
        type=Path,
        help="policy file whose client_data_window sets the window (chosen as recalc does)",
    )
    command.add_argument(
        "--output", type=Path, help="write the updated workbook here instead of over WORKBOOK"
    )
    _add_reporting_options(command)


def _import_activity(args: argparse.Namespace) -> int:
    """Import, then the summary on stdout (or one JSON object) and errors on stderr."""
    from workbook.hmis.export import Progress
    from workbook.hmis.importer import import_activity, summary_lines, warnings

    outcome = import_activity(
        args.workbook,
        args.export,
        as_of=args.as_of,
        policy_file=args.policy,
        output=args.output,
        today=dt.date.today(),
        now=dt.datetime.now(),
        progress=None if args.json or args.quiet else Progress(sys.stderr),
    )
    errors = [*outcome.errors, *(outcome.plan.not_written if outcome.plan else ())]
    if args.json:
        report = import_json(outcome, args.workbook, args.export)
        print(json.dumps(report, indent=2))
        return outcome.exit_code
    if args.quiet:
        found = warnings(outcome.activity, outcome.plan) if outcome.activity else []
        for line in found:
            print(f"Warning: {line}", file=sys.stderr)
    else:
        for line in summary_lines(outcome, args.workbook, args.export):
            print(line)
    for error in errors:
        print(f"Error: {error}", file=sys.stderr)
    if args.quiet:
        return outcome.exit_code
    if outcome.written is None:
        print("The workbook was not changed.")
        return outcome.exit_code
    changed = len(outcome.plan.updates) if outcome.plan else 0
    print(
        f"Wrote:    {outcome.written} ({plural(changed, 'Licenses cell')} updated;"
        " a Run Log row added)"
    )
    print(f"Next:     hmis-licensing recalc {outcome.written} --as-of {outcome.as_of.value}")
    return outcome.exit_code


def import_json(outcome: ImportOutcome, workbook: Path, export: Path) -> dict[str, object]:
    """The `--json` object of import-activity (its schema is in the README)."""
    from workbook.hmis.importer import warnings

    activity, plan, policy = outcome.activity, outcome.plan, outcome.policy
    report: dict[str, object] = {
        "command": "import-activity",
        "outcome": "ok" if outcome.exit_code == 0 else "errors",
        "exit_code": outcome.exit_code,
        "workbook": str(workbook),
        "export": str(export),
        "written": str(outcome.written) if outcome.written is not None else None,
        "as_of": as_of_json(outcome.as_of),
        "policy": {
            "file": str(outcome.policy_file.value),
            "from": outcome.policy_file.origin,
            "name": policy.name if policy else None,
            "version": policy.version if policy else None,
            "sha256": policy.sha256 if policy else None,
        },
        "window": None,
        "export_read": None,
        "counts": None,
        "licenses_without_activity": [],
        "user_ids_without_license": [],
        "warnings": warnings(activity, plan) if activity else [],
        "errors": [*outcome.errors, *(plan.not_written if plan else ())],
    }
    if activity is not None:
        report["window"] = {"start": str(activity.window_start), "end": str(activity.as_of)}
        report["export_read"] = {
            "csv_version": activity.csv_version or None,
            "export_start": str(activity.export_start) if activity.export_start else None,
            "export_end": str(activity.export_end) if activity.export_end else None,
            "files": [{"name": f.name, "rows": f.rows, "reader": f.reader} for f in activity.files],
            "other_files": len(activity.other_files),
        }
    if activity is not None and plan is not None:
        report["counts"] = {
            "rows": activity.rows,
            "user_ids": len(activity.users),
            "licenses_with_user_id": plan.with_user_id,
            "licenses_without_user_id": plan.without_user_id,
            "matched": len(plan.matched),
            "dates_moved_later": plan.dates_moved,
            "dates_kept": plan.dates_kept,
            "cells_updated": len(plan.updates) if outcome.written is not None else 0,
            "skipped_values": activity.skipped_values,
        }
        report["licenses_without_activity"] = [
            {"license_id": r.license_id, "row": r.row, "hmis_user_id": r.user_id}
            for r in plan.without_activity
        ]
        report["user_ids_without_license"] = [
            {"hmis_user_id": user, "window_rows": rows} for user, rows in plan.unlicensed_active
        ]
    return report


def _add_reporting_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object instead of text (schema in the README)",
    )
    sub.add_argument(
        "--quiet", "-q", action="store_true", help="print only problems (errors and warnings)"
    )


def _add_excel_commands(commands: argparse._SubParsersAction) -> None:
    excel = commands.add_parser("excel", help="set up the Excel ribbon add-in")
    excel_commands = excel.add_subparsers(dest="excel_command", required=True)
    install = excel_commands.add_parser(
        "install",
        help="write the HMIS Licensing add-in (Recalculate button) for this Python",
        description="Build hmis_licensing.xlam for the Python running this command and"
        " print how to add it to Excel. Run it again after upgrading.",
        epilog="Writes: hmis_licensing.xlam and README-Excel.txt in the folder. Exit codes: 0"
        " written; 1 written, but that Python cannot import what the add-in needs (it says"
        " what to install); 2 bad arguments or a folder that cannot be written. Example:"
        " hmis-licensing excel install --xlstart",
    )
    where = install.add_mutually_exclusive_group()
    where.add_argument(
        "--dir",
        type=Path,
        dest="folder",
        help='folder for the add-in (default: "HMIS Licensing" in your home folder)',
    )
    where.add_argument(
        "--xlstart",
        action="store_true",
        help="put it in Excel's startup folder, so that Excel loads it every time it starts",
    )
    install.add_argument("--interpreter", help="the Python Excel should run (default: this Python)")
    install.add_argument(
        "--pythonpath",
        default="",
        help="folders Python should also import from, separated by ; (rarely needed)",
    )
    for name, summary, description in (
        (
            "uninstall",
            "remove the add-in that excel install wrote",
            "Remove hmis_licensing.xlam (and README-Excel.txt) from the default folder and"
            " Excel's startup folder, or from --dir / --xlstart only. Quit Excel first."
            " Exit 0 also when there was nothing to remove.",
        ),
        (
            "status",
            "say which add-in is installed, which Python it runs and whether it is current",
            "Read the installed add-in back: its VBA project and buttons, whether the"
            " worksheet functions are imported, the Python it runs and that Python's"
            " hmis-licensing and xlwings. Exit 0 when an add-in is found and current, 1"
            " otherwise.",
        ),
    ):
        sub = excel_commands.add_parser(
            name,
            help=summary,
            description=description,
            epilog=f"Example: hmis-licensing excel {name} --xlstart",
        )
        group = sub.add_mutually_exclusive_group()
        group.add_argument("--dir", type=Path, dest="folder", help="look only in this folder")
        group.add_argument(
            "--xlstart", action="store_true", help="look only in Excel's startup folder"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hmis-licensing` command; returns the exit code."""
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:  # without the parser
        print(f"hmis-licensing {engine.__version__}")
        return 0
    with _console():
        parser = build_parser()
        words = list(sys.argv[1:] if argv is None else argv)
        _Parser.json_refusals, _Parser.argv = _asks_for_json(words), words
        args = parser.parse_args(argv)
        if args.command is None:  # plain `hmis-licensing`: say what it can do
            parser.print_help(sys.stdout)
            return 0
        with recorded_saves() as saved:
            try:
                return _run(parser, args)
            except HmisLicensingError as exc:
                # A script reads one JSON object, even now; but when stdout itself is
                # what failed (OutputError), only stderr can say so.
                if _wants_json(args) and not isinstance(exc, OutputError):
                    print(json.dumps(refusal_json(args, exc, _after(saved)), indent=2))
                else:
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


def _wants_json(args: argparse.Namespace) -> bool:
    return getattr(args, "json", False) is True or getattr(args, "format", None) == "json"


def refusal_json(
    args: argparse.Namespace, error: HmisLicensingError, after: str = ""
) -> dict[str, object]:
    """The `--json` object of a command that stopped before it could report (an
    unreadable workbook, a bad policy file, bad arguments): what and how to fix it."""
    command = " ".join(filter(None, [args.command, getattr(args, "policy_command", None)]))
    return {
        "command": command,
        "outcome": "refused",
        "exit_code": error.exit_code,
        "error": error.message + after,
        "how_to_fix": error.fix,
    }


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    # Each command imports what it needs when it runs.
    if args.command in ("recalc", "check"):
        return _recalc(args, write=args.command == "recalc")
    if args.command == "policy" and args.policy_command == "test":
        from workbook.scenarios import run_policy_test

        return run_policy_test(args)
    if args.command == "policy":
        return _policy_check(args)
    if args.command == "diff":
        from workbook.diff import run_diff

        return run_diff(args)
    if args.command == "sample":
        return _sample(args.destination, args.force, report=_report_mode(args))
    if args.command == "init":
        return _init(args.file, args.policy, args.force, report=_report_mode(args))
    if args.command in REVIEW_COMMANDS:
        return _review(args)
    if args.command == "import-activity":
        return _import_activity(args)
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
    from workbook.collector import collector_paused
    from workbook.xlsx.package import check_workbook_file

    with collector_paused():  # workbook/collector.py: why
        if not write:
            return _recalc_locked(args, write=False)
        destination: Path = getattr(args, "output", None) or args.workbook
        check_workbook_file(args.workbook)
        check_can_write(destination)
        with workbook_lock(destination):
            return _recalc_locked(args, write=True)


def _evaluate(args: argparse.Namespace) -> Outcome:
    """Read the workbook and run the policy, as every command that judges does."""
    from workbook.run import evaluate
    from workbook.xlsx.read import read_snapshot

    workbook_path: Path = args.workbook
    return evaluate(
        read_snapshot(workbook_path),
        workbook_folder=workbook_path.resolve().parent,
        policy_file=args.policy,
        as_of=args.as_of,
        today=dt.date.today(),
        now=dt.datetime.now(),
        ran_from="hmis-licensing " + args.command,
    )


def _review(args: argparse.Namespace) -> int:
    """`packet` and `notices`: the workbook read as `check` reads it; nothing written to it."""
    from workbook.review.commands import check_review_arguments, run_review

    check_review_arguments(args)
    outcome = _evaluate(args)
    if not args.json:  # with --json they are in the JSON: nothing goes to stderr
        _print_problems(outcome.problems, outcome.cells, sys.stderr)
    return run_review(args, outcome)


def save_results(
    source: Path, destination: Path, tables: Sequence[ResultTable], run_log: RunLogEntry
) -> None:
    """workbook.xlsx.write.save_results, imported when a command first saves."""
    from workbook.xlsx.write import save_results as save

    save(source, destination, tables, run_log)


def _recalc_locked(args: argparse.Namespace, *, write: bool) -> int:
    workbook_path: Path = args.workbook
    outcome = _evaluate(args)
    out: TextIO = sys.stdout
    human = not (args.json or args.quiet)
    if human:
        _print_header(workbook_path, outcome, out)
        _print_summary(outcome, out)
        if not write:
            _print_decisions(outcome, out)
    if not args.json:
        _print_problems(outcome.problems, outcome.cells, sys.stderr)
    destination: Path | None = None
    if write:
        destination = getattr(args, "output", None) or workbook_path
        if outcome.run_log is None:  # pragma: no cover - evaluate always sets it
            raise RuntimeError("no Run Log entry")
        save_results(workbook_path, destination, outcome.tables, outcome.run_log)
        if human:
            _print_written(destination, outcome, out)
    if args.json:
        report = outcome_json(outcome, workbook_path, destination, decisions=not write)
        print(json.dumps(report, indent=2), file=out)
    return outcome.exit_code


def _print_header(workbook_path: Path, outcome: Outcome, out: TextIO) -> None:
    print(f"Workbook: {workbook_path}", file=out)
    print(f"Policy:   {outcome.policy_file.value} ({outcome.policy_file.origin})", file=out)
    if outcome.policy is not None:
        print(
            f"          {outcome.policy.name}, version {outcome.policy.version},"
            f" sha256 {outcome.policy.sha256[:12]}",
            file=out,
        )
    from workbook.run import as_of_words

    print(f"As of:    {as_of_words(outcome.as_of, outcome.cells)}", file=out)


def _sheets_written(outcome: Outcome) -> list[str]:
    """The result sheets a save writes, then the Run Log it adds to: Findings History only
    when rows were appended to it (a review that changed nothing appends none)."""
    from workbook.layout import FINDINGS_HISTORY, RUN_LOG

    return [
        *(
            t.sheet.name
            for t in outcome.tables
            if t.held_back is None and (t.rows or t.sheet is not FINDINGS_HISTORY)
        ),
        RUN_LOG.name,
    ]


def _print_written(destination: Path, outcome: Outcome, out: TextIO) -> None:
    names = ", ".join(_sheets_written(outcome))
    print(f"Wrote:    {destination} ({names})", file=out)
    if any(t.held_back is not None for t in outcome.tables):
        print(
            "          The held-back result sheets keep their last good content until"
            " the errors are fixed.",
            file=out,
        )


def outcome_json(
    outcome: Outcome, workbook: Path, written: Path | None, *, decisions: bool
) -> dict[str, object]:
    """The `--json` object of recalc and check (its schema is in the README). Every
    command prints its JSON as ASCII (backslash-u escapes), which a script reads back the same
    whatever the console's encoding (Windows redirects stdout as cp1252)."""

    results = outcome.results
    judged = results is not None and "decisions" not in results.held_back
    report: dict[str, object] = {
        "command": "recalc" if written is not None else "check",
        "outcome": outcome.outcome_word,
        "exit_code": outcome.exit_code,
        "workbook": str(workbook),
        "written": str(written) if written is not None else None,
        "as_of": as_of_json(outcome.as_of),
        "policy": {
            "file": str(outcome.policy_file.value),
            "from": outcome.policy_file.origin,
            "name": outcome.policy.name if outcome.policy else None,
            "version": outcome.policy.version if outcome.policy else None,
            "sha256": outcome.policy.sha256 if outcome.policy else None,
        },
        "counts": {
            "licenses_judged": results.licenses_judged if judged and results else None,
            "eligible_for_revocation": len(results.revocations) if judged and results else None,
            "errors": len(outcome.errors),
            "warnings": len(outcome.warnings),
        },
        # As the text says it: the result sheets written, then the Run Log a run adds to.
        "sheets_written": _sheets_written(outcome) if written is not None else [],
        "sheets_held_back": [t.sheet.name for t in outcome.tables if t.held_back is not None],
        "problems": outcome.problems_json(),
    }
    if decisions:
        report["decisions"] = [
            {
                "license_id": d.license_id,
                "organization": d.organization,
                "license_type": d.license_type,
                "finding": d.finding,
                "exception": d.exception,
                "eligible_for_revocation": d.eligible_for_revocation == "Yes",
                "policy_clause": d.policy_clause,
                "explanation": d.explanation,
            }
            for d in (results.decisions if judged and results else ())
        ]
    return report


def as_of_json(choice: Choice) -> dict[str, object]:
    """`as_of` of the JSON: `{"date": "2026-11-24", "from": "--as-of"}`; `{"date": null,
    "from": "unreadable"}` when the Settings sheet's As Of could not be read (and no
    --as-of was given), so the run has no as-of date."""
    from workbook.run import chosen_as_of

    day = chosen_as_of(choice)
    return {"date": str(day) if day is not None else None, "from": choice.origin}


def _print_summary(outcome: Outcome, out: TextIO) -> None:
    results = outcome.results
    if results is not None:
        decisions = results.decisions
        judged = results.licenses_judged
        unjudged = sum(d.finding == "Cannot judge" for d in decisions)
        cannot = f"; {unjudged} cannot be judged (see Problems)" if unjudged else ""
        # A held-back result is not summed up: its sheet keeps the last good run's rows,
        # and a count from this run beside it would say something else.
        if "decisions" not in results.held_back:
            # Both counts, so that neither reads as a mistake beside the other: the Run
            # Log's Licenses column counts every row of the Inactivity Report (revoked,
            # not yet granted and unjudged types too); "judged" counts the active ones.
            print(
                f"Licenses: {len(decisions)} on the Inactivity Report (the Run Log's"
                f" Licenses), {judged} active ones judged; {len(results.revocations)}"
                f" eligible for revocation{cannot}",
                file=out,
            )
        summary = results.allotment_summary
        if summary is not None and "allotments" not in results.held_back:
            print(
                f"CE allotment: {plural(summary.total_allotment, 'license')} over"
                f" {plural(len(results.allotments), 'region')} (target {summary.target})"
                + (f", {summary.added_by_appeal:+,} by appeal" if summary.added_by_appeal else "")
                + f", {summary.in_use} in use",
                file=out,
            )
        held = [t.sheet.name for t in outcome.tables if t.held_back is not None]
        if held:
            print(f"Held back: {', '.join(held)} (see Problems)", file=out)
    print(
        f"Problems: {plural(len(outcome.errors), 'error')},"
        f" {plural(len(outcome.warnings), 'warning')}",
        file=out,
    )


def _print_decisions(outcome: Outcome, out: TextIO) -> None:
    """What `check` decided, as the result sheets would show it (README: Commands)."""
    from workbook.layout import ALLOTMENTS
    from workbook.results import allotment_rows

    results = outcome.results
    if results is None:
        return
    eligible = results.revocations
    if "decisions" in results.held_back:
        print(f"Inactivity: held back ({results.held_back['decisions']})", file=out)
    else:
        print(f"\nEligible for revocation ({len(eligible)}), §1:", file=out)
        for d in eligible:
            print(f"  {d.license_id}  {d.organization}  {d.finding} ({d.policy_clause})", file=out)
            print(f"      {d.explanation}", file=out)
    if "allotments" in results.held_back:
        print(f"Allotments: held back ({results.held_back['allotments']})", file=out)
        return
    if results.allotment_summary is None:
        return
    print("\nAllotments, §2 (region: formula value, allotment, in use, available):", file=out)
    for row in allotment_rows(results):
        values = dict(zip((c.field for c in ALLOTMENTS.columns), row, strict=True))
        value = values["formula_value"]
        if not isinstance(value, float):  # Not charged to a region: only In Use
            print(f"  {values['region']}: in use {_blank(values['in_use'])}", file=out)
            continue
        print(
            f"  {values['region']}: {value:.2f} -> {_blank(values['allotment'])},"
            f" in use {_blank(values['in_use'])}, available {_blank(values['available'])}",
            file=out,
        )
    print("", file=out)


def _blank(value: object) -> str:
    return "-" if value is None else str(value)


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


def _policy_check(args: argparse.Namespace) -> int:
    from policy import adopted_policy_path, load_policy
    from policy.adoption import check_notes
    from policy.errors import PolicyError

    chosen = args.file or adopted_policy_path()
    try:
        policy = load_policy(chosen)
    except PolicyError as exc:
        if not args.json:
            raise
        report = {"command": "policy check", "outcome": "bad policy", "exit_code": 2}
        # Every key the README lists, null where a policy that does not load has none.
        report |= {"file": str(chosen), "name": None, "version": None}
        report |= {"effective_date": None, "sha256": None}
        report |= {"problems": [str(exc)], "fix": exc.fix, "notes": []}
        print(json.dumps(report, indent=2))
        return 2
    rules = policy.inactivity
    allot = policy.ce_allotment
    notes = check_notes(policy, Path(chosen).read_bytes())  # versions: policy/adoption.py
    code = 1 if notes.must_fix else 0
    if args.json:
        report = {
            "command": "policy check",
            "outcome": "version notes" if code else "ok",
            "exit_code": code,
            "file": str(chosen),
            "name": policy.name,
            "version": policy.version,
            "effective_date": str(policy.effective_date),
            "sha256": policy.sha256,
            "problems": [],
            "notes": list(notes.lines),
        }
        print(json.dumps(report, indent=2))
        return code
    if args.quiet:  # only the problems, on stderr (README: For scripts)
        for line in notes.lines if code else ():
            print(f"{chosen}: {line}", file=sys.stderr)
        return code
    if code:  # valid, but exit 1: the headline says so, and the notes below say why
        print(f"{chosen}: NOT OK: the policy is valid, but see below (exit 1)")
    else:
        print(f"{chosen}: OK")
    print(f"  {policy.name}, version {policy.version}, effective {policy.effective_date}")
    print(f"  sha256 {policy.sha256}")
    print(
        f"  §1 inactive after {rules.client_data_window.describe()} without client data;"
        f" {rules.first_sign_in_window.describe()} to sign in"
    )
    print(
        f"  §2 {allot.target} CE licenses, minimum {allot.minimum}, rounding"
        f" {allot.rounding}, method {allot.method}"
    )
    for line in notes.lines:
        print(f"  {line}")
    return code


def _excel_install(args: argparse.Namespace) -> int:
    from workbook.excel.addin import status
    from workbook.excel.addin.install import install, require_folder

    folder = require_folder(args.folder) if args.folder else None
    if args.excel_command == "status":
        found = status.find(folder, args.xlstart)
        looked = [p for p, _ in status.places(folder, args.xlstart)]
        print(status.status_text(found, looked), end="", file=sys.stdout)
        return 0 if found and all(s.current for s in found) else 1
    if args.excel_command == "uninstall":
        removed, looked = status.uninstall(folder, args.xlstart)
        for path in removed:
            print(f"Removed {path}", file=sys.stdout)
        if not removed:
            print(
                f"No HMIS Licensing add-in in {', '.join(str(p) for p in looked)}.",
                file=sys.stdout,
            )
        else:
            print(
                "If Excel's Add-ins dialog still lists HMIS Licensing, untick it (Excel offers"
                " to delete it from the list).",
                file=sys.stdout,
            )
        return 0
    installed = install(
        folder, interpreter=args.interpreter, pythonpath=args.pythonpath, xlstart=args.xlstart
    )
    return 1 if installed.check else 0


_NEW_WORKBOOK_FIX = (
    "Give a new file name ending in .xlsx; --force replaces only a workbook file, never a"
    " device, pipe or socket."
)


def _report_mode(args: argparse.Namespace) -> str:
    """How a command that writes a file reports: "json", "quiet" or "text"."""
    return "json" if args.json else "quiet" if args.quiet else "text"


def _written_json(command: str, written: Path, **more: object) -> str:
    """The `--json` object of `init` and `sample`: they either write FILE (exit 0) or are
    refused (`refusal_json`, exit 2)."""
    report = {"command": command, "outcome": "ok", "exit_code": 0, "written": str(written)}
    return json.dumps(report | more, indent=2)


def _init(destination: Path, policy_file: Path | None, force: bool, *, report: str = "text") -> int:
    from policy import adopted_policy_path, load_policy
    from workbook.layout import POLICY_SHEET
    from workbook.xlsx.inputbook import blank_workbook

    _refuse_other_suffix(destination)
    refuse_not_a_file(destination, fix=_NEW_WORKBOOK_FIX)  # --force or not: never a device
    if destination.exists() and not force:
        raise UsageError(
            f"{destination}: already exists; init never overwrites a workbook.",
            fix="Choose another name, or add --force if you really mean to start over.",
        )
    chosen = policy_file or adopted_policy_path()
    policy = load_policy(chosen)
    where = (
        f"The License Type drop-down lists the types of {policy.name}, version"
        f" {policy.version} ({chosen}). Recalculate uses the Settings sheet's Policy File,"
        f" else a sheet named {POLICY_SHEET}, else a policy.yaml beside this workbook, else"
        " the adopted policy shipped with"
        " hmis-licensing; `hmis-licensing policy check FILE` checks a policy file."
    )
    blank_workbook(destination, license_types=tuple(policy.license_types), policy_where=where)
    if report == "json":
        used = {"file": str(chosen), "name": policy.name, "version": policy.version}
        print(_written_json("init", destination, policy=used | {"sha256": policy.sha256}))
    if report != "text":
        return 0
    print(f"Wrote a new workbook: {destination}")
    print("Next: type your regions, organizations and licenses (see its Instructions sheet),")
    print(f"then: hmis-licensing recalc {destination}")
    return 0


def _refuse_other_suffix(destination: Path) -> None:
    """init and sample write an .xlsx: under another name Excel would not open it."""
    if destination.suffix.lower() != ".xlsx":
        raise UsageError(
            f"{destination}: a new workbook must end in .xlsx.",
            fix="Choose a name ending in .xlsx.",
        )


def _sample(destination: Path, force: bool, *, report: str = "text") -> int:
    _refuse_other_suffix(destination)
    refuse_not_a_file(destination, fix=_NEW_WORKBOOK_FIX)  # --force or not: never a device
    if destination.exists() and not force:
        raise UsageError(
            f"{destination}: already exists.", fix="Choose another name or add --force."
        )
    from importlib import resources

    from workbook.xlsx.safesave import atomic_write

    source = resources.files("workbook").joinpath("sample", SAMPLE_NAME)
    atomic_write(  # as init writes: a link of that name is replaced, not what it names
        destination,
        source.read_bytes(),
        replace_link=True,
        space_fix="Free some space, or choose a file in another folder, and run again.",
    )
    if report == "json":
        print(_written_json("sample", destination))
    if report != "text":
        return 0
    print(f"Wrote the sample workbook to {destination}")
    print(f"Try: hmis-licensing recalc {destination} --as-of 2026-11-24")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
